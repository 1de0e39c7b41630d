-- Rollups of donations for the appeal dashboard (migration 0009_desk_rollups): per appeal and group (channel,
-- status, keyword, keyword amount, failure reason) the donations and their promised, paid and refunded pence,
-- and per appeal and minute (whole minutes since 1970, UTC) the donations received. A new donation joins its
-- group and minute (sign +1); a changed one leaves its old group (-1) and joins its new one. SQLite has one
-- writer at a time and updates rows in place: the triggers run per row, all in shard 0. A change that leaves a
-- group or minute as it was writes nothing. (`WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON.)

CREATE TRIGGER donations_rollup_insert AFTER INSERT ON donations
BEGIN
    INSERT INTO donation_group_sums (appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason,
                                     shard, donation_count, amount_pence, paid_pence, refunded_pence)
    SELECT appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, 0,
           sum(sign), sum(sign * amount_pence), sum(sign * paid_pence), sum(sign * refunded_pence)
    FROM (
        SELECT 1 AS sign, NEW.appeal_id AS appeal_id, NEW.channel AS channel, NEW.status AS status,
               coalesce(NEW.keyword, '') AS keyword,
               CASE WHEN NEW.keyword IS NULL THEN 0 ELSE NEW.amount_pence END AS keyword_amount_pence,
               coalesce(NEW.failure_reason, '') AS failure_reason,
               NEW.amount_pence AS amount_pence, NEW.paid_pence AS paid_pence,
               NEW.refunded_pence AS refunded_pence, CAST(strftime('%s', NEW.created_at) AS INTEGER) / 60 AS minute
    ) c WHERE true
    GROUP BY appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason
    HAVING sum(sign) <> 0 OR sum(sign * amount_pence) <> 0 OR sum(sign * paid_pence) <> 0
        OR sum(sign * refunded_pence) <> 0
    ON CONFLICT (appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, shard) DO UPDATE SET
        donation_count = donation_group_sums.donation_count + excluded.donation_count,
        amount_pence = donation_group_sums.amount_pence + excluded.amount_pence,
        paid_pence = donation_group_sums.paid_pence + excluded.paid_pence,
        refunded_pence = donation_group_sums.refunded_pence + excluded.refunded_pence;
    INSERT INTO donation_minute_counts (appeal_id, minute, shard, donation_count)
    SELECT appeal_id, minute, 0, sum(sign)
    FROM (
        SELECT 1 AS sign, NEW.appeal_id AS appeal_id, NEW.channel AS channel, NEW.status AS status,
               coalesce(NEW.keyword, '') AS keyword,
               CASE WHEN NEW.keyword IS NULL THEN 0 ELSE NEW.amount_pence END AS keyword_amount_pence,
               coalesce(NEW.failure_reason, '') AS failure_reason,
               NEW.amount_pence AS amount_pence, NEW.paid_pence AS paid_pence,
               NEW.refunded_pence AS refunded_pence, CAST(strftime('%s', NEW.created_at) AS INTEGER) / 60 AS minute
    ) c WHERE true
    GROUP BY appeal_id, minute HAVING sum(sign) <> 0
    ON CONFLICT (appeal_id, minute, shard) DO UPDATE SET
        donation_count = donation_minute_counts.donation_count + excluded.donation_count;
END;

CREATE TRIGGER donations_rollup_update AFTER UPDATE ON donations
BEGIN
    INSERT INTO donation_group_sums (appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason,
                                     shard, donation_count, amount_pence, paid_pence, refunded_pence)
    SELECT appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, 0,
           sum(sign), sum(sign * amount_pence), sum(sign * paid_pence), sum(sign * refunded_pence)
    FROM (
        SELECT -1 AS sign, OLD.appeal_id AS appeal_id, OLD.channel AS channel, OLD.status AS status,
               coalesce(OLD.keyword, '') AS keyword,
               CASE WHEN OLD.keyword IS NULL THEN 0 ELSE OLD.amount_pence END AS keyword_amount_pence,
               coalesce(OLD.failure_reason, '') AS failure_reason,
               OLD.amount_pence AS amount_pence, OLD.paid_pence AS paid_pence,
               OLD.refunded_pence AS refunded_pence, CAST(strftime('%s', OLD.created_at) AS INTEGER) / 60 AS minute
        UNION ALL
        SELECT 1 AS sign, NEW.appeal_id AS appeal_id, NEW.channel AS channel, NEW.status AS status,
               coalesce(NEW.keyword, '') AS keyword,
               CASE WHEN NEW.keyword IS NULL THEN 0 ELSE NEW.amount_pence END AS keyword_amount_pence,
               coalesce(NEW.failure_reason, '') AS failure_reason,
               NEW.amount_pence AS amount_pence, NEW.paid_pence AS paid_pence,
               NEW.refunded_pence AS refunded_pence, CAST(strftime('%s', NEW.created_at) AS INTEGER) / 60 AS minute
    ) c WHERE true
    GROUP BY appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason
    HAVING sum(sign) <> 0 OR sum(sign * amount_pence) <> 0 OR sum(sign * paid_pence) <> 0
        OR sum(sign * refunded_pence) <> 0
    ON CONFLICT (appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, shard) DO UPDATE SET
        donation_count = donation_group_sums.donation_count + excluded.donation_count,
        amount_pence = donation_group_sums.amount_pence + excluded.amount_pence,
        paid_pence = donation_group_sums.paid_pence + excluded.paid_pence,
        refunded_pence = donation_group_sums.refunded_pence + excluded.refunded_pence;
    INSERT INTO donation_minute_counts (appeal_id, minute, shard, donation_count)
    SELECT appeal_id, minute, 0, sum(sign)
    FROM (
        SELECT -1 AS sign, OLD.appeal_id AS appeal_id, OLD.channel AS channel, OLD.status AS status,
               coalesce(OLD.keyword, '') AS keyword,
               CASE WHEN OLD.keyword IS NULL THEN 0 ELSE OLD.amount_pence END AS keyword_amount_pence,
               coalesce(OLD.failure_reason, '') AS failure_reason,
               OLD.amount_pence AS amount_pence, OLD.paid_pence AS paid_pence,
               OLD.refunded_pence AS refunded_pence, CAST(strftime('%s', OLD.created_at) AS INTEGER) / 60 AS minute
        UNION ALL
        SELECT 1 AS sign, NEW.appeal_id AS appeal_id, NEW.channel AS channel, NEW.status AS status,
               coalesce(NEW.keyword, '') AS keyword,
               CASE WHEN NEW.keyword IS NULL THEN 0 ELSE NEW.amount_pence END AS keyword_amount_pence,
               coalesce(NEW.failure_reason, '') AS failure_reason,
               NEW.amount_pence AS amount_pence, NEW.paid_pence AS paid_pence,
               NEW.refunded_pence AS refunded_pence, CAST(strftime('%s', NEW.created_at) AS INTEGER) / 60 AS minute
    ) c WHERE true
    GROUP BY appeal_id, minute HAVING sum(sign) <> 0
    ON CONFLICT (appeal_id, minute, shard) DO UPDATE SET
        donation_count = donation_minute_counts.donation_count + excluded.donation_count;
END;
