package report

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/report/reporttest"
	"github.com/tongxin/tongxin/tools/simulator"
)

// storedVersion reads one stored version of a ranking, every column as text.
func storedVersion(t *testing.T, s *reporttest.Seeded, p Period, version uint32) []string {
	t.Helper()
	rows, err := s.Conn.Query(context.Background(), `SELECT toString(tuple(*)) FROM rankings
		WHERE period = ? AND period_start = toDate(?) AND version = ? ORDER BY rank`,
		string(p.Kind), p.First.Format("2006-01-02"), version)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		out = append(out, line)
	}
	return out
}

// A published ranking stays as it was: computing it again from the same
// data writes nothing, and a late snapshot makes version 2 with a diff
// naming the ambassador it moved, while version 1 is unchanged.
func TestRankingVersionsStayFrozenAcrossLateData(t *testing.T) {
	date := time.Date(2026, 11, 22, 0, 0, 0, 0, Beijing)
	p := NewPeriod(Daily, date)
	var held *simulator.Post
	withhold := func(post *simulator.Post) bool {
		if held == nil && post.Platform == "douyin" && !post.PublishedAt.Before(p.From) && post.PublishedAt.Before(p.To.Add(-6*time.Hour)) && post.DeletedAt.IsZero() && post.PrivateFrom.IsZero() {
			held = post
		}
		return post == held
	}
	until := p.To.Add(2 * time.Hour)
	s := reporttest.SeedWithout(t, 11, until, withhold)
	if held == nil {
		t.Fatal("no Douyin post published on the day to hold back")
	}
	ctx := context.Background()
	cfg := DefaultConfig()

	v1, err := Publish(ctx, s.Conn, cfg, p, time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !v1.New || v1.Version != 1 || v1.Entries < 10 {
		t.Fatalf("first publication: %+v, want version 1 with at least 10 entries", v1)
	}
	before := storedVersion(t, s, p, 1)
	if len(before) != v1.Entries {
		t.Fatalf("version 1 stored %d rows, published %d", len(before), v1.Entries)
	}

	again, err := Publish(ctx, s.Conn, cfg, p, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if again.New || again.Version != 1 {
		t.Fatalf("publishing the same data again: %+v, want version 1 and nothing new", again)
	}

	s.Late(t, held, until)
	v2, err := Publish(ctx, s.Conn, cfg, p, time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !v2.New || v2.Version != 2 {
		t.Fatalf("after a late snapshot: %+v, want version 2", v2)
	}
	if !strings.Contains(strings.Join(v2.Diff, "\n"), held.AmbassadorID+":") {
		t.Errorf("version 2's diff does not name %s, whose post arrived late:\n%s", held.AmbassadorID, strings.Join(v2.Diff, "\n"))
	}
	t.Logf("version 2 diff:\n%s", strings.Join(v2.Diff, "\n"))
	after := storedVersion(t, s, p, 1)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("version 1 changed:\nbefore %v\nafter  %v", before, after)
	}
	if got := storedVersion(t, s, p, 2); len(got) != v2.Entries {
		t.Errorf("version 2 stored %d rows, published %d", len(got), v2.Entries)
	}
	var diff string
	var changed uint32
	if err := s.Conn.QueryRow(ctx, `SELECT diff, changed FROM ranking_versions WHERE period = 'daily' AND period_start = toDate(?) AND version = 2`,
		p.First.Format("2006-01-02")).Scan(&diff, &changed); err != nil {
		t.Fatal(err)
	}
	if diff != strings.Join(v2.Diff, "\n") || int(changed) != len(v2.Diff) {
		t.Errorf("ranking_versions holds diff %q (%d), Publish said %q", diff, changed, v2.Diff)
	}
	// The report prints the newest version and says how many there are.
	r, err := Build(ctx, s.Conn, cfg, p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pr := r.One("published_ranking")
	if v, _ := Number(pr.Get("version")); v != 2 {
		t.Errorf("the report shows ranking version %v, want 2", pr.Get("version"))
	}
}
