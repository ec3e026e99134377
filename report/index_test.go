package report

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/tongxin/tongxin/report/reporttest"
)

// vci and bci are the README's formulas, written again in Go from their
// definition, to check ranking.sql against.
func vci(w IndexWeights, days float64, posts []gain) float64 {
	var R, Z, L, RE, Rm, Zm, Lm, REm float64
	for _, p := range posts {
		R, Z, L, RE = R+p.r, Z+p.z, L+p.l, RE+p.re
		Rm, Zm, Lm, REm = math.Max(Rm, p.r), math.Max(Zm, p.z), math.Max(Lm, p.l), math.Max(REm, p.re)
	}
	n := float64(len(posts))
	t := func(r, z, l, re float64) float64 {
		return w.Plays*math.Log(r+1) + w.Comment*math.Log(10*z+1) + w.Like*math.Log(10*l+1) + w.Share*math.Log(10*re+1)
	}
	s := w.Daily*t(R/days, Z/days, L/days, RE/days) + w.PerPost*t(R/n, Z/n, L/n, RE/n) + w.Peak*t(Rm, Zm, Lm, REm)
	return s * s * w.Scale
}

func bci(w IndexWeights, posts []gain) float64 {
	var Z, L, RE, published float64
	for _, p := range posts {
		Z, L, RE = Z+p.z, L+p.l, RE+p.re
		if p.published {
			published++
		}
	}
	return (w.Activity*math.Log(published+1) + w.Spread*(w.BCIReposts*math.Log(RE+1)+w.BCIComments*math.Log(Z+1)+w.BCILikes*math.Log(L+1))) * w.BCIScale
}

type gain struct {
	r, z, l, re float64
	published   bool
}

// The indices ranking.sql stores are the documented formulas applied to the
// period's gains of each post.
func TestIndicesFollowTheDocumentedFormulas(t *testing.T) {
	s := reporttest.Seed(t, 3, reporttest.Start.Add(60*time.Hour))
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Index.Plays, cfg.Index.Shrink = 0.6, 2 // tuned weights reach the SQL too
	p := NewPeriod(Weekly, reporttest.Start.AddDate(0, 0, 1).In(Beijing))
	qs, _ := Queries()
	rows, err := Run(ctx, s.Conn, qs["ranking"], p.Params(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 20 {
		t.Fatalf("%d ranked ambassadors", len(rows))
	}
	gains := map[string]map[string][]gain{}
	q, err := s.Conn.Query(ctx, `SELECT ambassador_id, platform, toFloat64(greatest(sum(ifNull(plays,0)),0)), toFloat64(greatest(sum(ifNull(comments,0)),0)),
		toFloat64(greatest(sum(ifNull(likes,0)),0)), toFloat64(greatest(sum(ifNull(shares,0)),0)), min(published_at) >= toDateTime(?, 'UTC')
		FROM post_hourly WHERE hour >= toDateTime(?, 'UTC') AND hour < toDateTime(?, 'UTC') GROUP BY ambassador_id, platform, post_id`,
		p.From.Format("2006-01-02 15:04:05"), p.From.Format("2006-01-02 15:04:05"), p.To.Format("2006-01-02 15:04:05"))
	if err != nil {
		t.Fatal(err)
	}
	for q.Next() {
		var amb, plat string
		var g gain
		if err := q.Scan(&amb, &plat, &g.r, &g.z, &g.l, &g.re, &g.published); err != nil {
			t.Fatal(err)
		}
		if gains[amb] == nil {
			gains[amb] = map[string][]gain{}
		}
		gains[amb][plat] = append(gains[amb][plat], g)
	}
	q.Close()
	checked := 0
	for _, r := range rows {
		amb, _ := r.Get("ambassador_id").(string)
		for plat, col := range map[string]string{"douyin": "index_douyin", "weibo": "index_weibo", "wechat_channels": "index_wechat_channels"} {
			got, ok := Number(r.Get(col))
			posts := gains[amb][plat]
			if !ok {
				if len(posts) > 0 {
					t.Errorf("%s %s: no index, but %d posts moved", amb, plat, len(posts))
				}
				continue
			}
			want := vci(cfg.Index, float64(p.Days()), posts)
			if plat == "weibo" {
				want = bci(cfg.Index, posts)
			}
			if math.Abs(got-want) > 0.011 {
				t.Errorf("%s %s: index %v, the formula gives %.4f", amb, plat, got, want)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Errorf("only %d indices checked", checked)
	}
}
