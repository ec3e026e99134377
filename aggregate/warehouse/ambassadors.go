package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// SyncAmbassadors writes the roster into the ambassadors table. Rows are
// versioned by updated_at, so the newest roster wins; an unchanged roster
// written again changes nothing an analyst sees.
func SyncAmbassadors(ctx context.Context, conn driver.Conn, r *roster.Roster) error {
	b, err := conn.PrepareBatch(ctx, `INSERT INTO ambassadors
		(ambassador_id, name, community, douyin_account, weibo_account, wechat_channels_account, updated_at)`)
	if err != nil {
		return fmt.Errorf("ambassadors: %w", err)
	}
	now := time.Now().UTC()
	acct := func(a roster.Ambassador, p string) *string {
		if v, ok := a.Accounts[p]; ok {
			return &v
		}
		return nil
	}
	for _, a := range r.Ambassadors {
		if err := b.Append(a.ID, a.Name, a.Community,
			acct(a, snapshot.Douyin), acct(a, snapshot.Weibo), acct(a, snapshot.WeChatChannels), now); err != nil {
			b.Abort()
			return fmt.Errorf("ambassadors: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("ambassadors: %w", err)
	}
	return nil
}
