package weibo

import (
	"context"
	"strconv"
	"strings"
	"testing"

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
	f := newSim(t, simulator.Faults{Envelope: 1}, Config{})
	f.srv.EnvelopeCodes = map[string][]errcode.Code{snapshot.Weibo: codes}
	accts := f.r.Accounts(snapshot.Weibo)
	seen := map[int]int{}
	ctx := context.Background()
	for i := 0; i < n; i++ {
		a := accts[i%len(accts)]
		var err error
		if i%2 == 0 {
			_, err = f.c.List(ctx, a, "")
		} else {
			_, err = f.c.Fetch(ctx, a, posts("5034312412120301"))
		}
		e := asError(t, err)
		code, cerr := strconv.Atoi(e.Code)
		if cerr != nil {
			t.Fatalf("request %d: error without the platform's code: %v", i, err)
		}
		seen[code]++
		if !strings.Contains(e.Message, "[HTTP ") {
			seen[0]++ // answered with HTTP 200 (the adapter names any other status)
		}
		if want := errcode.Weibo.Kind(code); e.Kind != want || e.Kind == ingest.KindUnknown {
			t.Errorf("code %d read as %s, the table says %s (%v)", code, e.Kind, want, err)
		}
		// A refused token is not used again: the ambassador consents anew.
		f.authorize(a.AccountID)
	}
	return seen
}

// TestSimulatorEnvelopeFaults: the simulator's "envelope" fault answers
// envelopes (with the row's status or HTTP 200) with the codes a retry gets
// past, from the adapter's own table, and the adapter reads each as that
// table says.
func TestSimulatorEnvelopeFaults(t *testing.T) {
	seen := simEnvelopes(t, nil, 120)
	if seen[0] == 0 || seen[0] == 120 {
		t.Errorf("%d of 120 envelopes came with HTTP 200: want some, and some with the code's own status", seen[0])
	}
	delete(seen, 0)
	for _, c := range simulator.EnvelopeFaultCodes(snapshot.Weibo, errcode.Weibo) {
		if seen[c.Code] == 0 {
			t.Errorf("transient code %d (%s) never answered in 120 requests", c.Code, c.Text)
		}
	}
	for code := range seen {
		if k := errcode.Weibo.Kind(code); k != ingest.KindRateLimited && k != ingest.KindUnavailable {
			t.Errorf("the default envelope fault answered %d (%s): not one a retry gets past", code, k)
		}
	}
}

// TestSimulatorAnswersEveryDataCode: with every data-API row of the table
// as envelope codes, the adapter reads each as the table says.
func TestSimulatorAnswersEveryDataCode(t *testing.T) {
	var rows []errcode.Code
	for _, r := range errcode.Weibo.Rows {
		if !r.OAuth {
			rows = append(rows, r)
		}
	}
	seen := simEnvelopes(t, rows, 12*len(rows))
	delete(seen, 0)
	for _, r := range rows {
		if seen[r.Code] == 0 {
			t.Errorf("code %d never answered", r.Code)
		}
	}
}
