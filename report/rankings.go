package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Published is the state of one period's ranking after Publish.
type Published struct {
	Period  Period
	Version uint32 // the newest version (0: nothing to rank yet)
	New     bool   // this call wrote Version
	Entries int
	// Diff lists what changed against the version before, one line per
	// ambassador (empty for version 1 and when nothing was written).
	Diff []string
}

// rankingColumns are stored for each entry; the first ones identify it.
var rankingColumns = []string{"rank", "ambassador_id", "name", "community", "score", "posts_scored", "posts_judged", "plays",
	"engagement", "index_douyin", "index_weibo", "index_wechat_channels"}

// Publish computes the period's ranking (queries/ranking.sql) at now and
// stores it as a new version when it differs from the newest stored one;
// an equal ranking writes nothing. Stored versions are never changed, so a
// published ranking stays as it was when late data arrives: the late data
// makes the next version, with its diff in ranking_versions.
//
// Publish for one period must not run twice at the same moment (the
// scheduler runs it from one process): two writers could both write the
// next version.
func Publish(ctx context.Context, conn driver.Conn, cfg Config, p Period, now time.Time) (Published, error) {
	out := Published{Period: p}
	qs, err := Queries()
	if err != nil {
		return out, err
	}
	params := p.Params(cfg)
	fresh, err := Run(ctx, conn, qs["ranking"], params)
	if err != nil {
		return out, err
	}
	stored, err := Run(ctx, conn, qs["published_ranking"], params)
	if err != nil {
		return out, err
	}
	var latest uint32
	if len(stored) > 0 {
		v, _ := Number(stored[0].Get("version"))
		latest = uint32(v)
	}
	out.Version, out.Entries = latest, len(stored)
	diff := rankingDiff(stored, fresh)
	if len(fresh) == 0 || (latest > 0 && len(diff) == 0) {
		return out, nil
	}
	wm, err := Run(ctx, conn, qs["watermark"], params)
	if err != nil {
		return out, err
	}
	watermark, _ := wm[0].Get("observed").(time.Time)
	version := latest + 1
	if latest == 0 {
		diff = nil
	}
	if err := writeRanking(ctx, conn, p, version, now, watermark, fresh, diff); err != nil {
		return out, err
	}
	return Published{Period: p, Version: version, New: true, Entries: len(fresh), Diff: diff}, nil
}

// rankingDiff says, per ambassador, what differs between two rankings.
func rankingDiff(old, fresh []Row) []string {
	byID := func(rows []Row) map[string]Row {
		m := map[string]Row{}
		for _, r := range rows {
			id, _ := r.Get("ambassador_id").(string)
			m[id] = r
		}
		return m
	}
	o, f := byID(old), byID(fresh)
	ids := map[string]bool{}
	for id := range o {
		ids[id] = true
	}
	for id := range f {
		ids[id] = true
	}
	var out []string
	for id := range ids {
		a, inOld := o[id]
		b, inNew := f[id]
		switch {
		case !inOld:
			out = append(out, fmt.Sprintf("%s: new at rank %v, score %v", id, b.Get("rank"), b.Get("score")))
		case !inNew:
			out = append(out, fmt.Sprintf("%s: left (was rank %v, score %v)", id, a.Get("rank"), a.Get("score")))
		default:
			var ch []string
			for _, c := range rankingColumns[2:] {
				if fmt.Sprint(a.Get(c)) != fmt.Sprint(b.Get(c)) {
					ch = append(ch, fmt.Sprintf("%s %v→%v", c, a.Get(c), b.Get(c)))
				}
			}
			if fmt.Sprint(a.Get("rank")) != fmt.Sprint(b.Get("rank")) {
				ch = append([]string{fmt.Sprintf("rank %v→%v", a.Get("rank"), b.Get("rank"))}, ch...)
			}
			if len(ch) > 0 {
				out = append(out, id+": "+strings.Join(ch, ", "))
			}
		}
	}
	sort.Strings(out)
	return out
}

func writeRanking(ctx context.Context, conn driver.Conn, p Period, version uint32, now, watermark time.Time, rows []Row, diff []string) error {
	start := p.First.Format("2006-01-02")
	h := sha256.New()
	for _, r := range rows {
		for _, c := range rankingColumns {
			fmt.Fprintf(h, "%v\x00", r.Get(c))
		}
	}
	token := fmt.Sprintf("rankings|%s|%s|%d|%s", p.Kind, start, version, hex.EncodeToString(h.Sum(nil))[:32])
	day, err := time.Parse("2006-01-02", start)
	if err != nil {
		return err
	}
	ictx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": token}))
	b, err := conn.PrepareBatch(ictx, `INSERT INTO rankings (period, period_start, version, cut_off, watermark, rank,
		ambassador_id, name, community, score, posts_scored, posts_judged, plays, engagement, index_douyin, index_weibo, index_wechat_channels)`)
	if err != nil {
		return fmt.Errorf("rankings: %w", err)
	}
	f := func(v any) *float64 {
		if x, ok := Number(v); ok {
			return &x
		}
		return nil
	}
	i64 := func(v any) int64 { x, _ := Number(v); return int64(x) }
	for _, r := range rows {
		name, _ := r.Get("name").(string)
		comm, _ := r.Get("community").(string)
		id, _ := r.Get("ambassador_id").(string)
		score, _ := Number(r.Get("score"))
		if err := b.Append(string(p.Kind), day, version, now.UTC(), watermark.UTC(), uint32(i64(r.Get("rank"))), id, name, comm,
			score, uint64(i64(r.Get("posts_scored"))), uint64(i64(r.Get("posts_judged"))), i64(r.Get("plays")), i64(r.Get("engagement")),
			f(r.Get("index_douyin")), f(r.Get("index_weibo")), f(r.Get("index_wechat_channels"))); err != nil {
			b.Abort()
			return fmt.Errorf("rankings: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("rankings %s %s version %d: %w", p.Kind, start, version, err)
	}
	vctx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": token + "|version"}))
	if err := conn.Exec(vctx, `INSERT INTO ranking_versions (period, period_start, version, cut_off, watermark, entries, changed, diff)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, string(p.Kind), day, version, now.UTC(), watermark.UTC(),
		uint32(len(rows)), uint32(len(diff)), strings.Join(diff, "\n")); err != nil {
		return fmt.Errorf("ranking_versions %s %s version %d: %w", p.Kind, start, version, err)
	}
	return nil
}
