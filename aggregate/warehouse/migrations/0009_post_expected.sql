-- What the viral rule expected of a post at each judged snapshot: the
-- post's reach measure (metric: plays, or likes on Weibo, which gives no
-- plays) against the baseline's expected value at the same age (the
-- ambassador's own posts, or the campaign's scaled by reach). The 作品
-- dashboard draws the two curves. Written by the aggregator's alert
-- judge; a rewritten row (a replay) replaces its twin at merge time.
CREATE TABLE IF NOT EXISTS post_expected
(
    platform          LowCardinality(String),
    ambassador_id     LowCardinality(String),
    post_id           String,
    observed_at       DateTime64(3, 'UTC'),
    age_hours         Float64,
    metric            LowCardinality(String),
    actual            Float64,
    expected          Float64,
    baseline          LowCardinality(String),
    reach_factor      Float64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(observed_at)
ORDER BY (platform, post_id, observed_at)
TTL toDateTime(observed_at) + INTERVAL 400 DAY;
