// Package responsefuzz helps the platform adapters' fuzz targets: any status
// and body a platform (or something pretending to be one) may answer, fed
// through an adapter's real request path, must become either snapshots that
// pass validation or a typed error that shows no secret, and never a panic.
package responsefuzz

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/snapshot"
)

// Canned answers every request with the same status and body, in process:
// no server, so a fuzz iteration costs microseconds.
type Canned struct {
	Status int
	Body   []byte
	// Header is added to the answer's.
	Header http.Header
	// Asked, when set, is shown every request before it is answered.
	Asked func(*http.Request)
}

func (c Canned) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.Asked != nil {
		c.Asked(req)
	}
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	status := c.Status
	if status < 100 || status > 999 {
		status = http.StatusOK
	}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for k, v := range c.Header {
		h[k] = v
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status),
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(c.Body)),
		ContentLength: int64(len(c.Body)), Request: req,
	}, nil
}

// AddRecorded seeds f with every recorded answer in dir (as HTTP 200) and
// with each hostile body, so the fuzzer starts from real-shaped answers.
func AddRecorded(f *testing.F, dir string, hostile ...string) {
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(http.StatusOK, b)
		}
	}
	for _, h := range hostile {
		f.Add(http.StatusOK, []byte(h))
	}
}

// Client is an *http.Client answering with c.
func (c Canned) Client() *http.Client { return &http.Client{Transport: c} }

// Check asserts the contract of one adapter call: an error is an
// *ingest.Error of the platform that names no secret; snapshots are of the
// platform and valid.
func Check(t *testing.T, platform string, snaps []snapshot.Snapshot, err error, secrets ...string) {
	t.Helper()
	if err != nil {
		var ie *ingest.Error
		if !errors.As(err, &ie) {
			t.Fatalf("error %v (%T) is not an *ingest.Error", err, err)
		}
		if ie.Platform != platform {
			t.Errorf("error of platform %q, want %q: %v", ie.Platform, platform, err)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Fatalf("error shows a secret (%.6s…): %v", s, err)
			}
		}
		return
	}
	for i := range snaps {
		s := &snaps[i]
		if s.Platform != platform {
			t.Errorf("snapshot %s of platform %q, want %q", s.Key(), s.Platform, platform)
		}
		if verr := s.Validate(); verr != nil {
			t.Errorf("adapter emitted an invalid snapshot %s: %v", s.Key(), verr)
		}
	}
}
