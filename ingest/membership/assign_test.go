package membership

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/segmentio/kafka-go"
)

func shardList(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// check fails unless got gives every shard to exactly one member and the
// members' counts differ by one at most.
func check(t *testing.T, what string, got map[string][]int, shards, members int) {
	t.Helper()
	if len(got) != members {
		t.Fatalf("%s: %d members assigned, want %d: %v", what, len(got), members, got)
	}
	owner := map[int]string{}
	lo, hi := shards, 0
	for id, ss := range got {
		lo, hi = min(lo, len(ss)), max(hi, len(ss))
		for _, s := range ss {
			if prev, ok := owner[s]; ok {
				t.Errorf("%s: shard %d given to %s and %s", what, s, prev, id)
			}
			owner[s] = id
		}
	}
	if len(owner) != shards {
		t.Errorf("%s: %d of %d shards given out: %v", what, len(owner), shards, got)
	}
	if hi-lo > 1 {
		t.Errorf("%s: shares from %d to %d shards: %v", what, lo, hi, got)
	}
}

// The assignor shares the shards evenly, and when a replica dies or joins
// only as many shards move as must: the survivors keep theirs.
func TestStickyAssignorMovesOnlyWhatItMust(t *testing.T) {
	const shards = 12
	first := assign([]member{{id: "a"}, {id: "b"}, {id: "c"}}, shardList(shards))
	check(t, "three new replicas", first, shards, 3)

	// c dies: a and b keep their four and share c's.
	after := assign([]member{{id: "a", had: first["a"]}, {id: "b", had: first["b"]}}, shardList(shards))
	check(t, "c died", after, shards, 2)
	for _, id := range []string{"a", "b"} {
		for _, s := range first[id] {
			if !slices.Contains(after[id], s) {
				t.Errorf("%s lost shard %d when c died: had %v, has %v", id, s, first[id], after[id])
			}
		}
	}

	// d joins a and b: each gives up two, keeping four of its six.
	joined := assign([]member{{id: "a", had: after["a"]}, {id: "b", had: after["b"]}, {id: "d"}}, shardList(shards))
	check(t, "d joined", joined, shards, 3)
	for _, id := range []string{"a", "b"} {
		kept := 0
		for _, s := range joined[id] {
			if slices.Contains(after[id], s) {
				kept++
			}
		}
		if kept != 4 {
			t.Errorf("%s kept %d of its shards when d joined, want 4: had %v, has %v", id, kept, after[id], joined[id])
		}
	}

	// Claims that cannot all be honoured: two members claim the same
	// shards (one from a stale generation), one a shard past the count.
	odd := assign([]member{{id: "x", had: []int{0, 1, 2}}, {id: "y", had: []int{1, 2, 40}}, {id: "z", had: []int{-1}}}, shardList(shards))
	check(t, "conflicting claims", odd, shards, 3)

	// Five replicas of twelve shards, and more replicas than shards.
	check(t, "five replicas", assign([]member{{id: "1"}, {id: "2"}, {id: "3"}, {id: "4"}, {id: "5"}}, shardList(shards)), shards, 5)
	many := make([]member, 14)
	for i := range many {
		many[i] = member{id: fmt.Sprintf("m%02d", i)}
	}
	check(t, "fourteen replicas", assign(many, shardList(shards)), shards, 14)
}

// Through kafka-go's interface: the leader reads each member's shards from
// its user data, and a member's user data is the shards it last owned.
func TestStickyAssignorReadsWhatMembersHad(t *testing.T) {
	var a, b sticky
	a.remember([]int{0, 1, 2, 3, 4, 5})
	b.remember([]int{6, 7, 8, 9, 10, 11})
	ua, _ := a.UserData()
	ub, _ := b.UserData()
	var had []int
	if err := json.Unmarshal(ua, &had); err != nil || !slices.Equal(had, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("user data %s (%v)", ua, err)
	}
	var parts []kafka.Partition
	for i := range 12 {
		parts = append(parts, kafka.Partition{Topic: "shards", ID: i})
	}
	got := a.AssignGroups([]kafka.GroupMember{
		{ID: "b", Topics: []string{"shards"}, UserData: ub},
		{ID: "a", Topics: []string{"shards"}, UserData: ua},
		{ID: "new", Topics: []string{"shards"}, UserData: []byte("not json")},
	}, parts)
	if len(got["a"]["shards"]) != 4 || len(got["b"]["shards"]) != 4 || len(got["new"]["shards"]) != 4 {
		t.Fatalf("assignment %v, want four shards each", got)
	}
	for _, s := range got["a"]["shards"] {
		if s > 5 {
			t.Errorf("a got shard %d it did not have while its own were there: %v", s, got)
		}
	}
	for _, s := range got["b"]["shards"] {
		if s < 6 {
			t.Errorf("b got shard %d it did not have while its own were there: %v", s, got)
		}
	}
}
