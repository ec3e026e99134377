package ingest

import (
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// StateSnapshot is the snapshot of a post the platform reports private or
// deleted, observed at: the state and no counters (the platform no longer
// tells them; absent, never zero, so the rollups keep the last ones).
func StateSnapshot(p Post, state string, at time.Time, source string) snapshot.Snapshot {
	return snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Platform: p.Platform, AmbassadorID: p.AmbassadorID, AccountID: p.AccountID,
		PostID: p.PostID, PublishedAt: p.PublishedAt.UTC(), ObservedAt: at.UTC(), State: state, Source: source,
	}
}
