package sink

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/snapshot"
)

// writeReposts inserts the official accounts' reposts (snapshots with
// repost_of) into official_reposts, one row per observation, versioned by
// observed_at: the newest counters and state win, and a replayed block is
// dropped as a duplicate like the others. They are never rolled up.
func (s *Sink) writeReposts(ctx context.Context, snaps []*snapshot.Snapshot) error {
	var part []*snapshot.Snapshot
	tok := newToken()
	for _, sn := range snaps {
		if !sn.IsRepost() {
			continue
		}
		part = append(part, sn)
		tok.str(sn.Platform, sn.PostID, sn.RepostOf.Platform, sn.RepostOf.PostID)
		tok.num(sn.ObservedAt.UnixMilli())
	}
	if len(part) == 0 {
		return nil
	}
	return s.insert(ctx, "official_reposts", tok.String(), len(part), func(b driver.Batch) error {
		for _, sn := range part {
			title, url := "", ""
			if sn.Facts != nil && sn.FactsProblem() == nil {
				title, url = sn.Facts.Title, sn.Facts.URL
			}
			if err := b.Append(sn.Platform, sn.PostID, sn.AmbassadorID, sn.AccountID, sn.PublishedAt.UTC(),
				sn.RepostOf.Platform, sn.RepostOf.PostID, sn.PostState(), sn.Likes, sn.Comments, sn.Shares,
				title, url, sn.ObservedAt.UTC()); err != nil {
				return err
			}
		}
		return nil
	}, `INSERT INTO official_reposts (platform, post_id, official_id, account_id, reposted_at,
		repost_of_platform, repost_of_post_id, state, likes, comments, shares, text, url, observed_at)`)
}
