package snapshot

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// reference is Unmarshal with encoding/json alone.
func reference(b []byte) (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// fast is what the fast path decodes, or nil where it hands over.
func fast(b []byte) *Snapshot {
	var s Snapshot
	if !decodeFast(b, &s) {
		return nil
	}
	return &s
}

// variants of a snapshot's JSON that a producer could write.
func variants(rng *rand.Rand, s *Snapshot) [][]byte {
	canon, _ := Marshal(s)
	std, _ := json.Marshal(s)
	var m map[string]any
	json.Unmarshal(std, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	var spaced strings.Builder
	spaced.WriteString(" {\n")
	for i, k := range keys {
		if i > 0 {
			spaced.WriteString(" ,\t")
		}
		v, _ := json.Marshal(m[k])
		spaced.WriteString(`"` + k + `" : ` + string(v))
	}
	spaced.WriteString("\r\n} ")
	withNull := strings.Replace(string(canon), `"schema":1`, `"schema":1,"plays":null,"completion_rate":null`, 1)
	return [][]byte{canon, std, []byte(spaced.String()), []byte(withNull)}
}

// The fast path never accepts what encoding/json rejects, and where it
// accepts, it decodes exactly what encoding/json decodes — on valid
// snapshots in every shape and on thousands of corrupted ones.
func TestFastDecodeAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	accepted, total := 0, 0
	check := func(b []byte) bool {
		total++
		want, err := reference(b)
		got := fast(b)
		if got == nil {
			return false
		}
		accepted++
		if err != nil {
			t.Fatalf("fast path accepted what encoding/json rejects (%v):\n%q", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path decoded differently:\n%q\n got %+v\nwant %+v", b, got, want)
		}
		return true
	}
	for i := 0; i < 3000; i++ {
		s := randomSnapshot(rng)
		clean := i%2 == 0
		if clean { // ids as the platforms make them
			s.Platform, s.AmbassadorID, s.PostID, s.AccountID, s.Source = Douyin, "amb07", "@9VwKzuvaDsawvscRwaJc1u2QmiIA==", "_000b92FF", SourceAPI
			s.State = []string{"", StateLive, StatePrivate, StateDeleted}[(i/2)%4]
			s.Facts = nil // the rare snapshot with facts takes encoding/json's path
		}
		for _, b := range variants(rng, s) {
			if !check(b) && clean {
				t.Fatalf("the fast path handed over a snapshot as tongxin writes it:\n%s", b)
			}
			for k := 0; k < 4; k++ { // corrupt it
				c := append([]byte(nil), b...)
				switch pos := rng.IntN(len(c)); rng.IntN(4) {
				case 0:
					c[pos] = "{}[]\":,0-+.e \\nxl"[rng.IntN(17)]
				case 1:
					c = c[:pos]
				case 2:
					c = append(c[:pos], c[pos+1:]...)
				default:
					c = append(c[:pos], append([]byte(`"x":01,`), c[pos:]...)...)
				}
				check(c)
			}
		}
	}
	for _, b := range []string{`{"schema":1,"plays":+5}`, `{"schema":1,"plays":05}`, `{"schema":1,"plays":1.0}`, `{"schema":1,"Plays":5}`,
		`{"schema":1,"plays":9223372036854775808}`, `{"schema":1,"completion_rate":1e400}`, `{"schema":1}x`, `{"schema":1,}`, `{"schema":1,"plays":-0}`,
		`{"schema":1,"state":null}`, `{"schema":1,"state":5}`, `{"schema":1,"state":"private"}`, `{"schema":1,"state":"priv\u0061te"}`, `{"schema":1,"State":"deleted"}`} {
		check([]byte(b))
	}
	t.Logf("fast path took %d of %d inputs", accepted, total)
}

func BenchmarkUnmarshal(b *testing.B) {
	s := randomSnapshot(rand.New(rand.NewPCG(3, 4)))
	s.Platform, s.AmbassadorID, s.PostID, s.AccountID, s.Source = Douyin, "amb07", "@9VwKzuvaDsawvscRwaJc1u2QmiIA==", "_000b92FFEF590F63E7aEc82CACD026c", SourceAPI
	data, _ := Marshal(s)
	b.Run("tongxin", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var s Snapshot
			if !decodeFast(data, &s) {
				b.Fatal("not the fast path")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var s Snapshot
			json.Unmarshal(data, &s)
		}
	})
}

// FuzzFastDecode: `go test ./snapshot -fuzz FastDecode` searches for an
// input the fast path decodes differently from encoding/json.
func FuzzFastDecode(f *testing.F) {
	b, _ := Marshal(&Snapshot{Platform: Douyin, PostID: "p", AmbassadorID: "a", Source: SourceAPI, Metrics: Metrics{Plays: Counter(5)}})
	f.Add(b)
	f.Add([]byte(`{"schema":1,"plays":null,"completion_rate":0.5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := fast(b)
		if got == nil {
			return
		}
		want, err := reference(b)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v (%v)", b, got, want, err)
		}
	})
}
