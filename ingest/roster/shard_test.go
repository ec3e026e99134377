package roster

import (
	"testing"

	"github.com/tongxin/tongxin/snapshot"
)

// Replicas split every platform's accounts: each account is polled by
// exactly one replica, whichever other accounts a replica is shown.
func TestShardPutsEachAccountInOneReplica(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	const replicas = 3
	for _, platform := range snapshot.Platforms {
		all := r.Accounts(platform)
		owner := map[string]int{}
		for replica := range replicas {
			shard := Shard(all, replica, replicas)
			if len(shard) == 0 {
				t.Errorf("%s: replica %d of %d polls no account of %d", platform, replica, replicas, len(all))
			}
			for _, a := range shard {
				if prev, ok := owner[a.AccountID]; ok {
					t.Errorf("%s account %s is polled by replicas %d and %d", platform, a.AccountID, prev, replica)
				}
				owner[a.AccountID] = replica
				// The same replica owns it when it is the only account shown.
				if one := Shard([]Account{a}, replica, replicas); len(one) != 1 {
					t.Errorf("%s account %s: in replica %d's shard of the roster but not of itself", platform, a.AccountID, replica)
				}
			}
		}
		if len(owner) != len(all) {
			t.Errorf("%s: %d of %d accounts are polled by some replica", platform, len(owner), len(all))
		}
	}
	if got := Shard(r.Accounts(snapshot.Douyin), 0, 1); len(got) != len(r.Accounts(snapshot.Douyin)) {
		t.Errorf("one replica polls %d accounts, want all", len(got))
	}
}
