package topics

import "testing"

// Three replicas with two in sync on a cluster of three or more: one broker
// may die and acks=all writes go on; a smaller cluster keeps what it can
// (a single broker: one replica, min.insync.replicas 1, as before).
func TestReplicationFollowsTheClusterSize(t *testing.T) {
	for _, c := range []struct{ brokers, replicas, minInSync int }{
		{0, 1, 1}, {1, 1, 1}, {2, 2, 1}, {3, 3, 2}, {5, 3, 2},
	} {
		r, m := Replication(c.brokers)
		if r != c.replicas || m != c.minInSync {
			t.Errorf("Replication(%d) = %d replicas, min.insync.replicas %d; want %d, %d", c.brokers, r, m, c.replicas, c.minInSync)
		}
	}
}
