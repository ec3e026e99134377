package warehouse_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

var beijing = time.FixedZone("CST", 8*3600) // Asia/Shanghai: UTC+8, no DST

// bjDay is the Beijing day of t, as a Date column reads back.
func bjDay(t time.Time) time.Time {
	y, m, d := t.In(beijing).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// The dashboards' warehouse: snapshots and post facts of a small campaign
// across Beijing midnights go through the aggregator's own rollup and sink,
// and every view's rows equal, row by row, what this test computes from the
// snapshots in Go: Beijing days (15:30 and 16:30 UTC are different days),
// engagement, posts that moved, the latest facts, states and since when,
// topics matched across widths and cases, targets, period leaderboards,
// activity, alerts with names, freshness.
func TestDashboardViewsAgreeWithTheSnapshots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))
	if _, err := warehouse.Migrate(ctx, dsn, quiet); err != nil {
		t.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if err := warehouse.SyncAmbassadors(ctx, conn, r); err != nil {
		t.Fatal(err)
	}

	// M: a Beijing midnight at least two days ago; data from M-3h to now-30m.
	now := time.Now().UTC()
	M := bjDay(now.Add(-48 * time.Hour)).Add(-8 * time.Hour)
	S, E := M.Add(-3*time.Hour), now.Add(-30*time.Minute)
	acct := func(amb, platform string) string {
		a, _ := r.Ambassador(amb)
		return a.Accounts[platform]
	}
	type spec struct {
		platform, amb, id    string
		published, stop      time.Time // observed from max(S, published) until stop
		title, retitle       string    // "" : no facts
		retitleAt            time.Time
		privateAt, deletedAt time.Time
	}
	specs := []spec{
		{platform: snapshot.Douyin, amb: "amb01", id: "7300000000000000001", published: S.Add(-time.Hour), stop: E,
			title: "西山红叶 #寻美西山 #XiShan", privateAt: M.Add(6 * time.Hour)},
		{platform: snapshot.Douyin, amb: "amb01", id: "7300000000000000002", published: M.Add(2 * time.Hour), stop: E,
			title: "＃寻美西山 八大处", retitle: "＃寻美西山 八大处的清晨 #ＸｉＳｈａｎ", retitleAt: M.Add(10 * time.Hour)},
		{platform: snapshot.Douyin, amb: "amb02", id: "7300000000000000003", published: S.Add(-5 * time.Hour), stop: M.Add(time.Hour),
			title: "香山 #西山红叶"},
		{platform: snapshot.Weibo, amb: "amb02", id: "5000000000000001", published: S, stop: E,
			title: "#寻美西山# 西山的秋 #XiShan#"},
		{platform: snapshot.Weibo, amb: "amb03", id: "5000000000000002", published: M.Add(-time.Hour), stop: E,
			title: "＃寻美西山＃ 模式口 #ｘｉｓｈａｎ#", deletedAt: M.Add(20 * time.Hour)},
		{platform: snapshot.WeChatChannels, amb: "amb03", id: "export/UzFfAgtgekIEAQAAAAAAc1", published: M.Add(time.Hour), stop: E,
			title: "#寻美西山 视频号的西山"},
		{platform: snapshot.WeChatChannels, amb: "amb04", id: "export/UzFfAgtgekIEAQAAAAAAc2", published: S.Add(-2 * time.Hour), stop: E},
		{platform: snapshot.Douyin, amb: "amb04", id: "7300000000000000004", published: M.Add(30 * time.Hour), stop: E,
			title: "#寻美西山 #XISHAN 秋色"},
	}

	// The snapshots, as the adapters would send them.
	rng := rand.New(rand.NewPCG(10, 11))
	var all []*snapshot.Snapshot
	for _, sp := range specs {
		var plays, likes, comments, shares int64
		first := true
		for at := S; !at.After(sp.stop); at = at.Add(30 * time.Minute) {
			if at.Before(sp.published) {
				continue
			}
			s := &snapshot.Snapshot{Schema: 1, Platform: sp.platform, AmbassadorID: sp.amb, AccountID: acct(sp.amb, sp.platform),
				PostID: sp.id, PublishedAt: sp.published, ObservedAt: at, Source: snapshot.SourceAPI}
			switch {
			case !sp.deletedAt.IsZero() && !at.Before(sp.deletedAt):
				s.State = snapshot.StateDeleted
			case !sp.privateAt.IsZero() && !at.Before(sp.privateAt):
				s.State = snapshot.StatePrivate
			default:
				if rng.IntN(10) >= 3 { // else the same counters again: observed, not moved
					plays += rng.Int64N(800)
					likes += rng.Int64N(40)
					comments += rng.Int64N(9)
					shares += rng.Int64N(5)
					if rng.IntN(10) == 0 {
						likes -= min(likes, 7) // spam removed
					}
				}
				s.Likes, s.Comments, s.Shares = snapshot.Counter(likes), snapshot.Counter(comments), snapshot.Counter(shares)
				if sp.platform != snapshot.Weibo {
					s.Plays = snapshot.Counter(plays)
				}
			}
			title := sp.title
			if sp.retitle != "" && !at.Before(sp.retitleAt) {
				title = sp.retitle
			}
			if title != "" && (first || title != sp.title && at.Equal(sp.retitleAt)) {
				url := ""
				if sp.platform == snapshot.Douyin {
					url = "https://www.iesdouyin.com/share/video/" + sp.id + "/"
				}
				s.Facts = snapshot.NewFacts(sp.platform, title, url)
			}
			first = false
			all = append(all, s)
			if s.State == snapshot.StateDeleted {
				break // polling stops
			}
		}
	}

	// Through the aggregator's rollup and sink, in observed order, in batches.
	sort.SliceStable(all, func(i, j int) bool { return all[i].ObservedAt.Before(all[j].ObservedAt) })
	sk := sink.New(conn, prometheus.NewRegistry())
	ledger := rollup.NewLedger()
	for i := 0; i < len(all); i += 97 {
		part := all[i:min(i+97, len(all))]
		b := ledger.NewBatch()
		for _, s := range part {
			if !b.Apply(s) {
				t.Fatalf("snapshot %s at %v not applied", s.Key(), s.ObservedAt)
			}
		}
		if err := sk.WriteSnapshots(ctx, part); err != nil {
			t.Fatal(err)
		}
		if err := sk.WriteRollup(ctx, b.Rows()); err != nil {
			t.Fatal(err)
		}
		if err := sk.WritePostFacts(ctx, part); err != nil {
			t.Fatal(err)
		}
		b.Commit()
	}

	// Alerts: one opened and updated, one resolved, one on a post without facts.
	type alertRow struct {
		id, kind, platform, amb, post string
		opened, updated               time.Time
		resolved                      *time.Time
		reason                        string
		score                         float64
	}
	resolvedAt := M.Add(12 * time.Hour)
	alertRows := []alertRow{
		{"a1", "low_reach", snapshot.Douyin, "amb01", specs[1].id, M.Add(8 * time.Hour), M.Add(8 * time.Hour), nil, "6 小时播放低于同龄作品", 0.2},
		{"a1", "low_reach", snapshot.Douyin, "amb01", specs[1].id, M.Add(8 * time.Hour), M.Add(9 * time.Hour), nil, "7 小时播放仍低于同龄作品", 0.1},
		{"a2", "viral", snapshot.Weibo, "amb02", specs[3].id, M.Add(5 * time.Hour), M.Add(5 * time.Hour), nil, "互动量激增", 9},
		{"a2", "viral", snapshot.Weibo, "amb02", specs[3].id, M.Add(5 * time.Hour), M.Add(12 * time.Hour), &resolvedAt, "互动量回落", 2},
		{"a3", "low_reach", snapshot.WeChatChannels, "amb04", specs[6].id, M.Add(7 * time.Hour), M.Add(7 * time.Hour), nil, "播放偏低", 0.3},
	}
	for _, a := range alertRows {
		if err := conn.Exec(ctx, `INSERT INTO alerts (alert_id, kind, platform, ambassador_id, post_id, opened_at, updated_at, resolved_at, reason, score, data_age_seconds)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`, a.id, a.kind, a.platform, a.amb, a.post, a.opened, a.updated, a.resolved, a.reason, a.score); err != nil {
			t.Fatal(err)
		}
	}

	// Targets: a third one taken out of the config goes inactive; the
	// Weibo target is written full-width and upper-case.
	for _, cfg := range []string{warehouse.SeedTargets + ",＃ＸｉＳＨＡＮ/weibo/engagement/5000,同心西山/weibo/engagement/10", "寻美西山/douyin/plays/1000000,＃ＸｉＳＨＡＮ/weibo/engagement/5000"} {
		targets, err := warehouse.ParseTargets(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := warehouse.SyncTargets(ctx, conn, targets); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // the next config's rows are newer
	}

	// The model: per post, its rows per hour as the rollup defines them.
	type hourRow struct {
		post  *spec
		hour  time.Time
		delta [5]*int64 // plays, likes, comments, shares, favorites
	}
	type postModel struct {
		spec                       *spec
		rows                       []*hourRow
		latest                     [5]*int64
		facts                      *snapshot.Facts
		state                      string
		since, observed, published time.Time
	}
	models := map[string]*postModel{}
	var order []string
	for i := range specs {
		sp := &specs[i]
		pm := &postModel{spec: sp, published: sp.published}
		models[sp.platform+":"+sp.id] = pm
		order = append(order, sp.platform+":"+sp.id)
		byHour := map[time.Time]*hourRow{}
		for _, s := range all {
			if s.Platform != sp.platform || s.PostID != sp.id {
				continue
			}
			h := s.ObservedAt.Truncate(time.Hour)
			row := byHour[h]
			if row == nil {
				row = &hourRow{post: sp, hour: h}
				byHour[h] = row
				pm.rows = append(pm.rows, row)
			}
			for k, v := range []*int64{s.Plays, s.Likes, s.Comments, s.Shares, s.Favorites} {
				if v == nil {
					continue
				}
				var old int64
				if pm.latest[k] != nil {
					old = *pm.latest[k]
				}
				d := *v - old
				if row.delta[k] != nil {
					d += *row.delta[k]
				}
				row.delta[k] = &d
				pm.latest[k] = snapshot.Counter(*v)
			}
			if st := s.PostState(); st != pm.state {
				pm.state, pm.since = st, s.ObservedAt
			}
			pm.observed = s.ObservedAt
			if s.Facts != nil {
				pm.facts = s.Facts
			}
		}
	}
	add := func(a *int64, b *int64) *int64 {
		if b == nil {
			return a
		}
		if a == nil {
			return snapshot.Counter(*b)
		}
		return snapshot.Counter(*a + *b)
	}
	val := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	engagement := func(d [5]*int64) int64 { return val(d[1]) + val(d[2]) + val(d[3]) + val(d[4]) }
	moved := func(d [5]*int64) bool {
		for _, v := range d {
			if val(v) != 0 {
				return true
			}
		}
		return false
	}
	type agg struct {
		sums   [5]*int64
		eng    int64
		rows   map[string]bool // posts with a row
		moved  map[string]bool // posts that moved
		newOne map[string]bool
	}
	group := func(key func(*hourRow) (string, bool)) map[string]*agg {
		out := map[string]*agg{}
		for _, k := range order {
			for _, row := range models[k].rows {
				g, ok := key(row)
				if !ok {
					continue
				}
				a := out[g]
				if a == nil {
					a = &agg{rows: map[string]bool{}, moved: map[string]bool{}, newOne: map[string]bool{}}
					out[g] = a
				}
				for i := range a.sums {
					a.sums[i] = add(a.sums[i], row.delta[i])
				}
				a.eng += engagement(row.delta)
				a.rows[k] = true
				if moved(row.delta) {
					a.moved[k] = true
				}
			}
		}
		return out
	}
	var want []string
	check := func(view, query string) {
		t.Helper()
		got := readRows(t, ctx, conn, query)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d rows, want %d", view, len(got), len(want))
			for i := 0; i < max(len(got), len(want)); i++ {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Errorf("%s row %d:\n got %s\nwant %s", view, i, g, w)
				}
			}
		}
		want = nil
	}
	row := func(cells ...any) { want = append(want, cellsOf(cells...)) }

	// Every day is a Beijing day: 15:30 and 16:30 UTC are two days.
	if bjDay(M.Add(-30 * time.Minute)).Equal(bjDay(M.Add(30 * time.Minute))) {
		t.Fatal("the data does not cross a Beijing midnight")
	}
	for g, a := range group(func(r *hourRow) (string, bool) {
		return cellsOf(bjDay(r.hour), r.post.platform, r.post.amb), true
	}) {
		row(g, a.sums[0], a.sums[1], a.sums[2], a.sums[3], a.sums[4], a.eng, len(a.rows))
	}
	check("ambassador_daily", "SELECT day, platform, ambassador_id, plays, likes, comments, shares, favorites, engagement, posts FROM ambassador_daily")

	for g, a := range group(func(r *hourRow) (string, bool) { return cellsOf(bjDay(r.hour), r.post.platform), true }) {
		row(g, a.sums[0], a.sums[1], a.sums[2], a.sums[3], a.sums[4], a.eng, len(a.rows))
	}
	check("campaign_daily", "SELECT day, platform, plays, likes, comments, shares, favorites, engagement, active_posts FROM campaign_daily")

	for g, a := range group(func(r *hourRow) (string, bool) { return cellsOf(r.hour, r.post.platform), true }) {
		row(g, a.sums[0], a.sums[1], a.sums[2], a.sums[3], a.sums[4], a.eng, len(a.moved))
	}
	check("campaign_hourly", "SELECT hour, platform, plays, likes, comments, shares, favorites, engagement, active_posts FROM campaign_hourly")

	sawPrivate := false
	for _, k := range order {
		pm := models[k]
		sp := pm.spec
		title, url, topics := "", "", []string{}
		if pm.facts != nil {
			title, url, topics = pm.facts.Title, pm.facts.URL, pm.facts.Topics
		}
		sawPrivate = sawPrivate || pm.state == snapshot.StatePrivate
		row(sp.platform, sp.id, sp.amb, acct(sp.amb, sp.platform), title, url, topics, pm.published, pm.state, &pm.since, pm.observed,
			pm.latest[0], pm.latest[1], pm.latest[2], pm.latest[3], pm.latest[4], engagement(pm.latest))
	}
	if !sawPrivate {
		t.Fatal("no post went private")
	}
	postRows := slices.Clone(want)
	const postsQuery = "SELECT platform, post_id, ambassador_id, account_id, title, url, topics, published_at, state, state_since, observed_at, plays, likes, comments, shares, favorites, engagement FROM posts"
	check("posts", postsQuery)
	var tens uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM posts WHERE plays >= 1000").Scan(&tens); err != nil {
		t.Fatal(err)
	}
	wantTens := 0
	for _, pm := range models {
		if val(pm.latest[0]) >= 1000 {
			wantTens++
		}
	}
	if int(tens) != wantTens {
		t.Errorf("posts with plays >= 1000: %d, want %d", tens, wantTens)
	}

	// Topics: each post's latest, normalised; "xishan" however typed.
	topicsOf := func(k string) []string {
		if f := models[k].facts; f != nil {
			return f.Topics
		}
		return nil
	}
	xishanPosts := 0
	for _, k := range order {
		if slices.Contains(topicsOf(k), "xishan") {
			xishanPosts++
		}
	}
	if xishanPosts < 4 {
		t.Fatalf("only %d posts carry xishan in some spelling", xishanPosts)
	}
	topicTotals := map[[2]string]*agg{}
	for _, topic := range []string{"寻美西山", "xishan", "西山红叶"} {
		for g, a := range group(func(r *hourRow) (string, bool) {
			return cellsOf(bjDay(r.hour), r.post.platform, topic), slices.Contains(topicsOf(r.post.platform+":"+r.post.id), topic)
		}) {
			row(g, a.sums[0], a.eng, len(a.moved))
		}
		for p, a := range group(func(r *hourRow) (string, bool) {
			return r.post.platform, slices.Contains(topicsOf(r.post.platform+":"+r.post.id), topic)
		}) {
			topicTotals[[2]string{topic, p}] = a
		}
	}
	check("topic_daily", "SELECT day, platform, topic, plays, engagement, posts FROM topic_daily")

	for _, tg := range []struct {
		topic, platform, metric string
		target                  uint64
	}{{"寻美西山", snapshot.Douyin, "plays", 1000000}, {"xishan", snapshot.Weibo, "engagement", 5000}} {
		a := topicTotals[[2]string{tg.topic, tg.platform}]
		v := val(a.sums[0])
		if tg.metric == "engagement" {
			v = a.eng
		}
		if v == 0 {
			t.Fatalf("target %s/%s: nothing to count", tg.topic, tg.platform)
		}
		row(tg.topic, tg.platform, tg.metric, tg.target, v, float64(v)/float64(tg.target))
	}
	check("topic_progress", "SELECT topic, platform, metric, target, value, progress FROM topic_progress")

	// A period: [M-1h, M+12h), through the parameterized views.
	from, to := M.Add(-time.Hour), M.Add(12*time.Hour)
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	period := group(func(r *hourRow) (string, bool) { return r.post.amb, in(r.hour) })
	newPosts := map[string]int{}
	for _, k := range order {
		if in(models[k].published) {
			newPosts[models[k].spec.amb]++
		}
	}
	type community struct {
		ambassadors     int
		plays           *int64
		eng             int64
		posts, newPosts int
	}
	communities := map[string]*community{}
	for _, a := range r.Ambassadors {
		var plays *int64
		var eng int64
		posts := 0
		if g := period[a.ID]; g != nil {
			plays, eng, posts = g.sums[0], g.eng, len(g.moved)
		}
		row(a.ID, a.Name, a.Community, plays, eng, posts, newPosts[a.ID])
		c := communities[a.Community]
		if c == nil {
			c = &community{}
			communities[a.Community] = c
		}
		c.ambassadors++
		c.plays = add(c.plays, plays)
		c.eng += eng
		c.posts += posts
		c.newPosts += newPosts[a.ID]
	}
	q := fmt.Sprintf("(from = '%s', to = '%s')", from.Format(time.DateTime), to.Format(time.DateTime))
	check("leaderboard_period", "SELECT ambassador_id, name, community, plays, engagement, posts, new_posts FROM leaderboard_period"+q)
	for name, c := range communities {
		row(name, c.ambassadors, c.plays, c.eng, c.posts, c.newPosts)
	}
	check("community_leaderboard_period", "SELECT community, ambassadors, plays, engagement, posts, new_posts FROM community_leaderboard_period"+q)

	published := map[string]int{}
	for _, k := range order {
		sp := models[k].spec
		published[cellsOf(bjDay(sp.published), sp.platform, sp.amb)]++
	}
	for g, n := range published {
		row(g, n)
	}
	check("posts_published_daily", "SELECT day, platform, ambassador_id, posts FROM posts_published_daily")

	today := bjDay(time.Now())
	for _, a := range r.Ambassadors {
		var last *time.Time
		var platforms []string
		n := 0
		for _, k := range order {
			if sp := models[k].spec; sp.amb == a.ID {
				n++
				if last == nil || sp.published.After(*last) {
					p := sp.published
					last = &p
				}
				if !slices.Contains(platforms, sp.platform) {
					platforms = append(platforms, sp.platform)
				}
			}
		}
		sort.Strings(platforms)
		var days *int64
		if last != nil {
			days = snapshot.Counter(int64(today.Sub(bjDay(*last)).Hours() / 24))
		}
		row(a.ID, a.Name, a.Community, n, last, days, platforms)
	}
	check("ambassador_activity", "SELECT ambassador_id, name, community, posts, last_published_at, days_since_post, platforms FROM ambassador_activity")

	latest := map[string]alertRow{}
	for _, a := range alertRows {
		latest[a.id] = a // in order: the last row of each is its newest
	}
	for _, a := range latest {
		amb, _ := r.Ambassador(a.amb)
		title, url := "", ""
		if f := models[a.platform+":"+a.post].facts; f != nil {
			title, url = f.Title, f.URL
		}
		status := "open"
		if a.resolved != nil {
			status = "resolved"
		}
		row(a.id, a.kind, a.platform, a.amb, amb.Name, amb.Community, a.post, title, url, a.opened, a.updated, a.resolved, status, a.reason, a.score)
	}
	check("alerts_current", "SELECT alert_id, kind, platform, ambassador_id, name, community, post_id, title, url, opened_at, updated_at, resolved_at, status, reason, score FROM alerts_current")

	type fresh struct {
		last         time.Time
		posts, stale int
	}
	fr := map[string]*fresh{}
	asOf := time.Now()
	for _, k := range order {
		pm := models[k]
		g := cellsOf(pm.spec.platform, pm.spec.amb, acct(pm.spec.amb, pm.spec.platform))
		f := fr[g]
		if f == nil {
			f = &fresh{}
			fr[g] = f
		}
		if pm.observed.After(f.last) {
			f.last = pm.observed
		}
		f.posts++
		if pm.state == snapshot.StateLive && pm.observed.Before(asOf.Add(-26*time.Hour)) {
			f.stale++
		}
	}
	staleSeen := 0
	for g, f := range fr {
		row(g, f.last, f.posts, f.stale)
		staleSeen += f.stale
	}
	if staleSeen != 1 {
		t.Errorf("%d stale posts in the model, want the one no longer observed", staleSeen)
	}
	check("freshness", "SELECT platform, ambassador_id, account_id, last_observed_at, posts, stale_posts FROM freshness")
	rows, err := conn.Query(ctx, "SELECT last_observed_at, age_seconds FROM freshness")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var last time.Time
		var age int64
		if err := rows.Scan(&last, &age); err != nil {
			t.Fatal(err)
		}
		if want := time.Since(last).Seconds(); float64(age) < want-60 || float64(age) > want+60 {
			t.Errorf("freshness: last observed %v, age %d s, want about %.0f s", last, age, want)
		}
	}

	// A post known only by its facts (no counters written yet) is in posts
	// too: live, never observed, no counters.
	only := &snapshot.Snapshot{Schema: 1, Platform: snapshot.Weibo, AmbassadorID: "amb05", AccountID: acct("amb05", snapshot.Weibo),
		PostID: "5000000000000009", PublishedAt: M, ObservedAt: M.Add(time.Hour), Source: snapshot.SourceAPI,
		Facts: snapshot.NewFacts(snapshot.Weibo, "#寻美西山# 只有事实", "https://weibo.com/1/5000000000000009")}
	if err := sk.WritePostFacts(ctx, []*snapshot.Snapshot{only}); err != nil {
		t.Fatal(err)
	}
	want = append(postRows, cellsOf(snapshot.Weibo, only.PostID, "amb05", only.AccountID, only.Facts.Title, only.Facts.URL, only.Facts.Topics,
		M, snapshot.StateLive, nil, nil, nil, nil, nil, nil, nil, 0))
	check("posts with a facts-only post", postsQuery)
}

// readRows runs a query and renders each row with cellsOf, sorted.
func readRows(t *testing.T, ctx context.Context, conn driver.Conn, query string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	types := rows.ColumnTypes()
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		cells := make([]any, len(dest))
		for i, d := range dest {
			cells[i] = reflect.ValueOf(d).Elem().Interface()
		}
		out = append(out, cellsOf(cells...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// cellsOf renders values the same way whether they come from ClickHouse
// or from the Go model: NULL for nil, times in UTC to the millisecond,
// every integer type alike.
func cellsOf(cells ...any) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(cell(c))
	}
	return b.String()
}

func cell(c any) string {
	v := reflect.ValueOf(c)
	for v.IsValid() && v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "NULL"
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return "NULL"
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case string:
		return x
	case float32, float64:
		return fmt.Sprintf("%.9g", x)
	case []string:
		return "[" + strings.Join(x, ",") + "]"
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprint(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprint(v.Uint())
	}
	return fmt.Sprint(v.Interface())
}
