package token

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/internal/enginetest"
)

// The loopback callback hands over the code of the redirect that carries
// this authorization's state, and refuses any other.
func TestCallbackTakesOnlyTheRedirectWithItsState(t *testing.T) {
	uri := "http://" + enginetest.FreeAddr(t) + "/callback"
	cb, err := ListenCallback(uri, "s3cr3t-state")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cb.Close() })

	get := func(query string) (int, string) {
		t.Helper()
		resp, err := http.Get(uri + "?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, q := range []string{"code=evil&state=guess", "code=evil", "state=s3cr3t-state"} {
		if code, _ := get(q); code != http.StatusBadRequest {
			t.Errorf("callback ?%s answered HTTP %d, want 400", q, code)
		}
	}
	if code, body := get("code=the-code&state=s3cr3t-state"); code != http.StatusOK || !strings.Contains(body, "authorized") {
		t.Errorf("the right callback answered HTTP %d %q", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := cb.Code(ctx); err != nil || got != "the-code" {
		t.Errorf("Code = %q, %v; want the-code", got, err)
	}
}

// A redirect URI on another machine cannot be listened on: the caller
// asks for the code instead.
func TestCallbackNeedsALoopbackRedirect(t *testing.T) {
	if _, err := ListenCallback("https://example.com/callback", "s"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("ListenCallback on example.com: %v, want ErrNotLoopback", err)
	}
}
