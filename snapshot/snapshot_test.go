package snapshot

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func randomSnapshot(rng *rand.Rand) *Snapshot {
	word := func() string {
		parts := []string{"amb07", "@9VwKzu+/=", "export/UzFf", "寻美西山", "a\"b\\c", "<tag>&", "\u2028x", "tab\there", "\x01\x1f", "\xff\xfe", "😀"}
		return parts[rng.IntN(len(parts))] + parts[rng.IntN(len(parts))]
	}
	n := func() *int64 {
		if rng.IntN(4) == 0 {
			return nil
		}
		v := rng.Int64N(1e12) - 10
		return &v
	}
	f := func() *float64 {
		if rng.IntN(3) == 0 {
			return nil
		}
		v := rng.Float64() * []float64{1, 100, 1e-9, 1e21}[rng.IntN(4)]
		return &v
	}
	states := []string{"", "", StateLive, StatePrivate, StateDeleted, word()}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(rng.Int64N(1e15)))
	return &Snapshot{Schema: 1, Platform: word(), AmbassadorID: word(), AccountID: word(), PostID: word(),
		PublishedAt: at, ObservedAt: at.Add(time.Duration(rng.IntN(1e9))), State: states[rng.IntN(len(states))],
		Metrics: Metrics{Plays: n(), Likes: n(), Comments: n(), Shares: n(), Favorites: n(), Forwards: n(),
			Downloads: n(), Recommends: n(), CompletionRate: f(), AvgWatchSeconds: f()},
		Source: word(), Facts: randomFacts(rng, word)}
}

func randomFacts(rng *rand.Rand, word func() string) *Facts {
	switch rng.IntN(4) {
	case 0:
		return &Facts{Title: word(), URL: word(), Topics: []string{word(), word()}}
	case 1:
		return &Facts{Title: word()}
	case 2:
		return &Facts{Topics: []string{}, URL: "https://weibo.com/1/2"}
	}
	return nil
}

// The hand-written encoder says exactly what encoding/json says.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		s := randomSnapshot(rng)
		got, _ := Marshal(s)
		c := *s
		c.PublishedAt, c.ObservedAt = c.PublishedAt.UTC(), c.ObservedAt.UTC()
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("snapshot %d:\n got %s\nwant %s", i, got, want)
		}
		var back Snapshot
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("not valid JSON: %v\n%s", err, got)
		}
		if !reflect.DeepEqual(back.Metrics, c.Metrics) || !back.ObservedAt.Equal(c.ObservedAt) {
			t.Fatalf("round trip changed the snapshot:\n%s", got)
		}
	}
}

func TestAbsentMetricsAreNotZero(t *testing.T) {
	b, _ := Marshal(&Snapshot{Platform: Weibo, PostID: "1", Metrics: Metrics{Likes: Counter(0)}})
	if strings.Contains(string(b), "plays") || !strings.Contains(string(b), `"likes":0`) {
		t.Fatalf("%s: an absent metric must be absent and a zero one zero", b)
	}
}

func TestUnmarshalNamesWhatIsWrong(t *testing.T) {
	for in, want := range map[string]string{
		`{oops`:                 "not a valid snapshot",
		`{"platform":"douyin"}`: "schema: missing",
		`{"schema":3}`:          "unsupported version 3",
		`{"schema":1,"platform":"douyin","post_id":"p","ambassador_id":"a","observed_at":"2026-06-01T00:00:00Z","source":"api","plays":-5}`: "plays: negative counter -5",
	} {
		if _, err := Unmarshal([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to say %q", in, err, want)
		}
	}
}

// A post gone private: the state travels, the counters stay absent (never
// zero), and a message without a state — as every producer before the field
// wrote — is a live post's.
func TestStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	s := &Snapshot{Schema: 1, Platform: Douyin, AmbassadorID: "amb07", AccountID: "_000b92FFEF590F63E7aEc82CACD026c", PostID: "@9VwL3uKKBZ03JtSyfaR8ZpP6WixrFiO3Kbnr", PublishedAt: at.Add(-time.Hour), ObservedAt: at, State: StatePrivate, Source: SourceAPI}
	b, _ := Marshal(s)
	if want := `"observed_at":"2026-12-01T08:00:00Z","state":"private","source":"api"}`; !strings.HasSuffix(string(b), want) {
		t.Fatalf("%s: want it to end %s", b, want)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.State != StatePrivate || back.PostState() != StatePrivate || back.HasCounters() {
		t.Fatalf("decoded %+v, want state private and no counters", back)
	}
	old, err := Unmarshal([]byte(`{"schema":1,"platform":"douyin","ambassador_id":"a","account_id":"_000b92FF","post_id":"@9VwL3u","published_at":"2026-05-31T00:00:00Z","observed_at":"2026-06-01T00:00:00Z","plays":5,"source":"api"}`))
	if err != nil || old.State != "" || old.PostState() != StateLive || !old.HasCounters() {
		t.Fatalf("a message without a state: %+v, %v; want a live post", old, err)
	}
	if _, err := Unmarshal([]byte(`{"schema":1,"platform":"douyin","ambassador_id":"a","account_id":"_000b92FF","post_id":"@9VwL3u","published_at":"2026-05-31T00:00:00Z","observed_at":"2026-06-01T00:00:00Z","state":"hidden","source":"api"}`)); err == nil || !strings.Contains(err.Error(), `state: unknown "hidden"`) {
		t.Fatalf("unknown state: error %v, want it named", err)
	}
}

func BenchmarkMarshal(b *testing.B) {
	s := randomSnapshot(rand.New(rand.NewPCG(3, 4)))
	b.Run("tongxin", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		for i := 0; i < b.N; i++ {
			buf = AppendJSON(buf[:0], s)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			json.Marshal(s)
		}
	})
}
