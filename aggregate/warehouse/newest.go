package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// NewestObservation is the latest observed_at the rollups hold (zero when
// they hold none). A pipeline whose clock is earlier would have its own
// snapshots skipped as older than what was applied.
func NewestObservation(ctx context.Context, conn driver.Conn) (time.Time, error) {
	var newest time.Time
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT max(last_observed_at), count() FROM post_hourly`).Scan(&newest, &n); err != nil {
		return time.Time{}, fmt.Errorf("warehouse: newest observation: %w", err)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return newest.UTC(), nil
}
