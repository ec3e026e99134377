-- Published rankings (日榜, 周榜, 月榜; tongxin report, package report).
-- A ranking is computed at a cut-off and never changed: each computation
-- that differs from the latest stored version is a new version, rows of an
-- older version stay as they were. period: 'daily', 'weekly', 'monthly';
-- period_start: its first Beijing day. cut_off: when it was computed (wall
-- clock); watermark: the newest observation in the data it read. The inputs
-- (posts_scored, posts_judged, plays, engagement, the per-platform indices) are kept
-- beside the score.
CREATE TABLE IF NOT EXISTS rankings
(
    period                 LowCardinality(String),
    period_start           Date,
    version                UInt32,
    cut_off                DateTime64(3, 'UTC'),
    watermark              DateTime64(3, 'UTC'),
    rank                   UInt32,
    ambassador_id          String,
    name                   String,
    community              String,
    score                  Float64,
    posts_scored           UInt64,
    posts_judged           UInt64,
    plays                  Int64,
    engagement             Int64,
    index_douyin           Nullable(Float64),
    index_weibo            Nullable(Float64),
    index_wechat_channels  Nullable(Float64)
)
ENGINE = MergeTree
ORDER BY (period, period_start, version, rank)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per published version: when, from what data, and what changed
-- against the version before (diff: one line per ambassador whose rank or
-- score changed, entered or left; empty for version 1).
CREATE TABLE IF NOT EXISTS ranking_versions
(
    period         LowCardinality(String),
    period_start   Date,
    version        UInt32,
    cut_off        DateTime64(3, 'UTC'),
    watermark      DateTime64(3, 'UTC'),
    entries        UInt32,
    changed        UInt32,
    diff           String
)
ENGINE = MergeTree
ORDER BY (period, period_start, version)
SETTINGS non_replicated_deduplication_window = 1000;

-- Which version (fingerprint) of which report reached which receiver
-- (report/delivery): a version is never sent to a receiver twice.
CREATE TABLE IF NOT EXISTS report_deliveries
(
    receiver   String,
    report     String,
    version    String,
    sent_at    DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (receiver, report, version);
