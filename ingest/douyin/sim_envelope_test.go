package douyin

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/errcode"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// simEnvelopes makes n list and fetch requests against a simulator whose
// every data-API answer is an error envelope, and checks each error's Kind
// is the one the table gives its code. It returns the codes seen.
func simEnvelopes(t *testing.T, codes []errcode.Code, n int) map[int]int {
	t.Helper()
	f := newSimFixture(t, simulator.Faults{Envelope: 1}, 5*time.Second)
	f.srv.EnvelopeCodes = map[string][]errcode.Code{snapshot.Douyin: codes}
	accts := f.authorizeAll(t)
	seen := map[int]int{}
	ctx := context.Background()
	for i := 0; i < n; i++ {
		a := accts[i%len(accts)]
		var err error
		if i%2 == 0 {
			_, err = f.client.List(ctx, a, "")
		} else {
			_, err = f.client.Fetch(ctx, a, []ingest.Post{{PostID: "@9VwKzuuES8gmaHHgMo"}})
		}
		e := asIngestError(t, err)
		code, cerr := strconv.Atoi(e.Code)
		if cerr != nil {
			t.Fatalf("request %d: error without the platform's code: %v", i, err)
		}
		seen[code]++
		if want := errcode.Douyin.Kind(code); e.Kind != want || e.Kind == ingest.KindUnknown {
			t.Errorf("code %d read as %s, the table says %s (%v)", code, e.Kind, want, err)
		}
		if e.RequestID == "" {
			t.Errorf("code %d: no request id: %v", code, err)
		}
		// A refused token would stay refused; each request starts fresh.
		f.authorizeAll(t)
	}
	return seen
}

// TestSimulatorEnvelopeFaults: the simulator's "envelope" fault answers
// HTTP 200 envelopes with the codes a retry gets past, from the adapter's
// own table, and the adapter reads each as that table says.
func TestSimulatorEnvelopeFaults(t *testing.T) {
	seen := simEnvelopes(t, nil, 120)
	for _, c := range simulator.EnvelopeFaultCodes(snapshot.Douyin, errcode.Douyin) {
		if seen[c.Code] == 0 {
			t.Errorf("transient code %d (%s) never answered in 120 requests", c.Code, c.Text)
		}
	}
	for code := range seen {
		if k := errcode.Douyin.Kind(code); k != ingest.KindRateLimited && k != ingest.KindUnavailable {
			t.Errorf("the default envelope fault answered %d (%s): not one a retry gets past", code, k)
		}
	}
}

// TestSimulatorAnswersEveryDataCode: with every data-API row of the table
// as envelope codes, the adapter reads each as the table says.
func TestSimulatorAnswersEveryDataCode(t *testing.T) {
	var rows []errcode.Code
	for _, r := range errcode.Douyin.Rows {
		if !r.OAuth {
			rows = append(rows, r)
		}
	}
	seen := simEnvelopes(t, rows, 12*len(rows))
	for _, r := range rows {
		if r.Kind == ingest.KindTokenExpired {
			continue // refreshed and repeated: the repeat's answer is what surfaces
		}
		if seen[r.Code] == 0 {
			t.Errorf("code %d never answered", r.Code)
		}
	}
}
