-- The campaign's tables. Times are UTC. A metric a platform does not give is
-- NULL, never zero.

-- One observed snapshot, as it came off tongxin.snapshots.v1. A re-delivered
-- snapshot replaces its twin at merge time; analysts read the latest counter
-- with argMax(…, observed_at), which is exact with or without merges.
CREATE TABLE IF NOT EXISTS snapshots
(
    platform          LowCardinality(String),
    ambassador_id     LowCardinality(String),
    account_id        String,
    post_id           String,
    published_at      DateTime64(3, 'UTC'),
    observed_at       DateTime64(3, 'UTC'),
    plays             Nullable(Int64),
    likes             Nullable(Int64),
    comments          Nullable(Int64),
    shares            Nullable(Int64),
    favorites         Nullable(Int64),
    forwards          Nullable(Int64),
    downloads         Nullable(Int64),
    recommends        Nullable(Int64),
    completion_rate   Nullable(Float64),
    avg_watch_seconds Nullable(Float64),
    source            LowCardinality(String),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(observed_at)
ORDER BY (platform, ambassador_id, post_id, observed_at)
TTL toDateTime(observed_at) + INTERVAL 400 DAY;

-- Signed deltas per post and hour: the exact rollup. Plain sum() over any
-- subset of rows is exact without FINAL, because every column that analysts
-- sum is a SimpleAggregateFunction(sum): merges only add rows together.
-- last_observed_at and the running snapshot count let the aggregator rebuild
-- what it has applied from this table alone, so one INSERT carries both the
-- deltas and the proof that they were applied.
CREATE TABLE IF NOT EXISTS post_hourly
(
    hour              DateTime('UTC'),
    platform          LowCardinality(String),
    ambassador_id     LowCardinality(String),
    post_id           String,
    published_at      SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    plays             SimpleAggregateFunction(sum, Nullable(Int64)),
    likes             SimpleAggregateFunction(sum, Nullable(Int64)),
    comments          SimpleAggregateFunction(sum, Nullable(Int64)),
    shares            SimpleAggregateFunction(sum, Nullable(Int64)),
    favorites         SimpleAggregateFunction(sum, Nullable(Int64)),
    forwards          SimpleAggregateFunction(sum, Nullable(Int64)),
    downloads         SimpleAggregateFunction(sum, Nullable(Int64)),
    recommends        SimpleAggregateFunction(sum, Nullable(Int64)),
    snapshots         SimpleAggregateFunction(sum, UInt64),
    last_observed_at  SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (platform, ambassador_id, post_id, hour)
SETTINGS non_replicated_deduplication_window = 1000;

-- One alert; an alert opening, updating and resolving is one row per state,
-- the newest (updated_at) wins at merge time.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id          String,
    kind              LowCardinality(String),
    platform          LowCardinality(String),
    ambassador_id     LowCardinality(String),
    post_id           String,
    opened_at         DateTime64(3, 'UTC'),
    updated_at        DateTime64(3, 'UTC'),
    resolved_at       Nullable(DateTime64(3, 'UTC')),
    reason            String,
    score             Float64,
    data_age_seconds  Float64
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (kind, platform, post_id, alert_id);

-- The roster, refreshed from the roster file.
CREATE TABLE IF NOT EXISTS ambassadors
(
    ambassador_id            String,
    name                     String,
    community                String,
    douyin_account           Nullable(String),
    weibo_account            Nullable(String),
    wechat_channels_account  Nullable(String),
    updated_at               DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY ambassador_id;

-- Per ambassador, platform and day; an exact view over post_hourly.
-- posts: how many of the ambassador's posts moved that day.
CREATE VIEW IF NOT EXISTS ambassador_daily AS
SELECT
    toDate(hour)           AS day,
    platform,
    ambassador_id,
    sum(plays)             AS plays,
    sum(likes)             AS likes,
    sum(comments)          AS comments,
    sum(shares)            AS shares,
    sum(favorites)         AS favorites,
    uniqExact(post_id)     AS posts
FROM post_hourly
GROUP BY day, platform, ambassador_id;
