package warehouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/snapshot"
)

// CampaignTarget is one goal of the campaign: a topic's total of a metric on a
// platform, e.g. the seed campaign's Douyin topic 寻美西山 at 1230万 plays.
type CampaignTarget struct {
	Topic    string // normalised (snapshot.NormalizeTopic)
	Platform string
	Metric   string // TargetPlays or TargetEngagement
	Value    uint64
}

// The metrics a target may count.
const (
	TargetPlays      = "plays"
	TargetEngagement = "engagement" // likes + comments + shares + favorites
)

// SeedTargets is the --targets default: the reference campaign's headline,
// its Douyin topic's 12.3 million plays.
const SeedTargets = "寻美西山/douyin/plays/12300000"

// ParseTargets reads a --targets value: comma-separated
// topic/platform/metric/value entries; the topic may be written with its
// hashes and in any width or case. "" is no target.
func ParseTargets(s string) ([]CampaignTarget, error) {
	var out []CampaignTarget
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		parts := strings.Split(entry, "/")
		if len(parts) != 4 {
			return nil, fmt.Errorf("target %q: want topic/platform/metric/value, e.g. %s", entry, SeedTargets)
		}
		t := CampaignTarget{Topic: snapshot.NormalizeTopic(parts[0]), Platform: strings.TrimSpace(parts[1]), Metric: strings.TrimSpace(parts[2])}
		if t.Topic == "" {
			return nil, fmt.Errorf("target %q: no topic", entry)
		}
		if !snapshot.KnownPlatform(t.Platform) {
			return nil, fmt.Errorf("target %q: platform %q is not one of %s", entry, t.Platform, strings.Join(snapshot.Platforms, ", "))
		}
		if t.Metric != TargetPlays && t.Metric != TargetEngagement {
			return nil, fmt.Errorf("target %q: metric %q is not %s or %s", entry, t.Metric, TargetPlays, TargetEngagement)
		}
		v, err := strconv.ParseUint(strings.TrimSpace(parts[3]), 10, 64)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("target %q: value %q is not a whole number above 0", entry, parts[3])
		}
		t.Value = v
		key := t.Topic + "/" + t.Platform + "/" + t.Metric
		if seen[key] {
			return nil, fmt.Errorf("target %q: %s is given twice", entry, key)
		}
		seen[key] = true
		out = append(out, t)
	}
	return out, nil
}

// SyncTargets makes campaign_targets say targets: each is written (the
// newest row wins), and an active target that is not among them is
// written inactive, so topic_progress lists exactly the configured ones.
func SyncTargets(ctx context.Context, conn driver.Conn, targets []CampaignTarget) error {
	rows, err := conn.Query(ctx, `SELECT topic, toString(platform), toString(metric) FROM campaign_targets
		GROUP BY topic, platform, metric HAVING argMax(active, updated_at) = 1`)
	if err != nil {
		return fmt.Errorf("campaign targets: %w", err)
	}
	var stale [][3]string
	want := map[[3]string]bool{}
	for _, t := range targets {
		want[[3]string{t.Topic, t.Platform, t.Metric}] = true
	}
	for rows.Next() {
		var k [3]string
		if err := rows.Scan(&k[0], &k[1], &k[2]); err != nil {
			rows.Close()
			return fmt.Errorf("campaign targets: %w", err)
		}
		if !want[k] {
			stale = append(stale, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("campaign targets: %w", err)
	}
	if len(targets)+len(stale) == 0 {
		return nil
	}
	b, err := conn.PrepareBatch(ctx, "INSERT INTO campaign_targets (topic, platform, metric, target, active, updated_at)")
	if err != nil {
		return fmt.Errorf("campaign targets: %w", err)
	}
	now := time.Now().UTC() // wall: the version of a config change
	for _, t := range targets {
		if err := b.Append(t.Topic, t.Platform, t.Metric, t.Value, uint8(1), now); err != nil {
			b.Abort()
			return fmt.Errorf("campaign targets: %w", err)
		}
	}
	for _, k := range stale {
		if err := b.Append(k[0], k[1], k[2], uint64(0), uint8(0), now); err != nil {
			b.Abort()
			return fmt.Errorf("campaign targets: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("campaign targets: %w", err)
	}
	return nil
}
