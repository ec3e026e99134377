-- A retried flush resends identical blocks of raw snapshots too: let
-- ClickHouse drop them at insert time, as it does for post_hourly, instead
-- of leaving twins for merges to collapse.
ALTER TABLE snapshots MODIFY SETTING non_replicated_deduplication_window = 1000;
