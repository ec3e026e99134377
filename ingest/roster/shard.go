package roster

import "hash/fnv"

// Shard keeps the accounts of ingest replica number replica (0 to
// replicas-1): each account belongs to exactly one replica, chosen by its
// platform and account id alone, so replicas never poll the same account
// and need not agree on anything but the roster.
func Shard(accts []Account, replica, replicas int) []Account {
	if replicas <= 1 {
		return accts
	}
	var out []Account
	for _, a := range accts {
		if shardOf(a, replicas) == replica {
			out = append(out, a)
		}
	}
	return out
}

// shardOf is the replica, 0 to replicas-1, that polls a.
func shardOf(a Account, replicas int) int {
	if replicas <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(a.Platform + ":" + a.AccountID))
	return int(h.Sum32() % uint32(replicas))
}
