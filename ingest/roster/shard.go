package roster

import "hash/fnv"

// InShards keeps the accounts whose shard, of shards numbered 0 to
// shards-1, is one of owned. An account's shard depends on its platform and
// account id alone, so ingest replicas that own disjoint shards never poll
// the same account and need not agree on anything but the roster and the
// number of shards.
func InShards(accts []Account, owned []int, shards int) []Account {
	mine := make(map[int]bool, len(owned))
	for _, s := range owned {
		mine[s] = true
	}
	var out []Account
	for _, a := range accts {
		if mine[ShardOf(a, shards)] {
			out = append(out, a)
		}
	}
	return out
}

// ShardOf is a's shard, 0 to shards-1 (0 when shards <= 1).
func ShardOf(a Account, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(a.Platform + ":" + a.AccountID))
	return int(h.Sum32() % uint32(shards))
}
