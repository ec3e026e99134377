package budget

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongxin/tongxin/internal/clock"
)

// At 3600x speed a budget of 360 requests an hour allows 360 requests per
// wall second (plus the burst); a client trying to send 2000 must be held back.
func TestTransportKeepsToTheBudget(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer srv.Close()
	clk := clock.NewScaled(time.Now(), 3600)
	b := New(clk, 360, 10)
	client := &http.Client{Transport: &Transport{Bucket: b}}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := clk.Now()
	for i := 0; i < 2000; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			break
		}
		resp.Body.Close()
	}
	elapsed := clk.Now().Sub(start).Hours()
	allowed := 10 + 360*elapsed
	if n := float64(served.Load()); n > allowed+1 {
		t.Fatalf("%v requests in %.2f campaign hours, budget allows %.0f", n, elapsed, allowed)
	}
	if served.Load() < 100 {
		t.Fatalf("only %d requests went through in a second at a budget of 360/s wall", served.Load())
	}
}

func TestShare(t *testing.T) {
	if got := Share(600, 3); got != 200 {
		t.Fatalf("Share(600, 3) = %v", got)
	}
}
