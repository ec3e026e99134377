package roster

import (
	"testing"

	"github.com/tongxin/tongxin/snapshot"
)

// Shards split every platform's accounts: each account is in exactly one
// shard, whichever other accounts it is shown with, and owning every shard
// is owning every account.
func TestInShardsPutsEachAccountInOneShard(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	const shards = 12
	for _, platform := range snapshot.Platforms {
		all := r.Accounts(platform)
		owner := map[string]int{}
		used := 0
		for shard := range shards {
			in := InShards(all, []int{shard}, shards)
			if len(in) > 0 {
				used++
			}
			for _, a := range in {
				if prev, ok := owner[a.AccountID]; ok {
					t.Errorf("%s account %s is in shards %d and %d", platform, a.AccountID, prev, shard)
				}
				owner[a.AccountID] = shard
				// The same shard holds it when it is the only account shown.
				if one := InShards([]Account{a}, []int{shard}, shards); len(one) != 1 {
					t.Errorf("%s account %s: in shard %d of the roster but not of itself", platform, a.AccountID, shard)
				}
			}
		}
		if len(owner) != len(all) {
			t.Errorf("%s: %d of %d accounts are in some shard", platform, len(owner), len(all))
		}
		// The hash spreads the roster: no platform's accounts crowd into a
		// few shards (fifty accounts over twelve shards).
		if len(all) >= 4*shards && used < shards*3/4 {
			t.Errorf("%s: %d accounts fall into only %d of %d shards", platform, len(all), used, shards)
		}
		every := make([]int, shards)
		for i := range every {
			every[i] = i
		}
		if got := InShards(all, every, shards); len(got) != len(all) {
			t.Errorf("%s: owning every shard gives %d of %d accounts", platform, len(got), len(all))
		}
		if got := InShards(all, nil, shards); len(got) != 0 {
			t.Errorf("%s: owning no shard gives %d accounts", platform, len(got))
		}
	}
}
