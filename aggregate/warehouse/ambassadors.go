package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// SyncAmbassadors writes the roster into the ambassadors table, and its
// official accounts into official_accounts. Rows are
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
	return syncOfficials(ctx, conn, r, now)
}

// syncOfficials writes the roster's official accounts into
// official_accounts, versioned like the ambassadors.
func syncOfficials(ctx context.Context, conn driver.Conn, r *roster.Roster, now time.Time) error {
	if len(r.Officials) == 0 {
		return nil
	}
	b, err := conn.PrepareBatch(ctx, `INSERT INTO official_accounts (official_id, name, platform, account_id, updated_at)`)
	if err != nil {
		return fmt.Errorf("official_accounts: %w", err)
	}
	for _, p := range snapshot.Platforms {
		for _, a := range r.OfficialAccounts(p) {
			o, _ := r.Official(a.AmbassadorID)
			if err := b.Append(o.ID, o.Name, p, a.AccountID, now); err != nil {
				b.Abort()
				return fmt.Errorf("official_accounts: %w", err)
			}
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("official_accounts: %w", err)
	}
	return nil
}
