-- Rollups of donations for the appeal dashboard (migration 0009_desk_rollups): per appeal and group (channel,
-- status, keyword, keyword amount, failure reason) the donations and their promised, paid and refunded pence,
-- and per appeal and minute (whole minutes since 1970, UTC) the donations received. A new donation joins its
-- group and minute (sign +1); a changed one leaves its old group (-1) and joins its new one. Run once per
-- statement over its transition tables, in the shard the transaction claimed (everypenny_shard(), in
-- ledger_sums.pg.sql): a shard's row may go negative, the sum over shards is exact. A change that leaves a group
-- or minute as it was writes nothing.

CREATE FUNCTION everypenny_roll_up_new_donations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO donation_group_sums (appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason,
                                     shard, donation_count, amount_pence, paid_pence, refunded_pence)
    SELECT appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, everypenny_shard(),
           sum(sign), sum(sign * amount_pence), sum(sign * paid_pence), sum(sign * refunded_pence)
    FROM (
        SELECT 1 AS sign, n.appeal_id AS appeal_id, n.channel AS channel, n.status AS status,
               coalesce(n.keyword, '') AS keyword,
               CASE WHEN n.keyword IS NULL THEN 0 ELSE n.amount_pence END AS keyword_amount_pence,
               coalesce(n.failure_reason, '') AS failure_reason,
               n.amount_pence AS amount_pence, n.paid_pence AS paid_pence,
               n.refunded_pence AS refunded_pence, floor(extract(epoch FROM n.created_at) / 60)::bigint AS minute
        FROM inserted_donations n
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
    SELECT appeal_id, minute, everypenny_shard(), sum(sign)
    FROM (
        SELECT 1 AS sign, n.appeal_id AS appeal_id, n.channel AS channel, n.status AS status,
               coalesce(n.keyword, '') AS keyword,
               CASE WHEN n.keyword IS NULL THEN 0 ELSE n.amount_pence END AS keyword_amount_pence,
               coalesce(n.failure_reason, '') AS failure_reason,
               n.amount_pence AS amount_pence, n.paid_pence AS paid_pence,
               n.refunded_pence AS refunded_pence, floor(extract(epoch FROM n.created_at) / 60)::bigint AS minute
        FROM inserted_donations n
    ) c WHERE true
    GROUP BY appeal_id, minute HAVING sum(sign) <> 0
    ON CONFLICT (appeal_id, minute, shard) DO UPDATE SET
        donation_count = donation_minute_counts.donation_count + excluded.donation_count;
    RETURN NULL;
END $$;
CREATE TRIGGER donations_rollup_insert AFTER INSERT ON donations
    REFERENCING NEW TABLE AS inserted_donations
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_roll_up_new_donations();

CREATE FUNCTION everypenny_roll_up_changed_donations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO donation_group_sums (appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason,
                                     shard, donation_count, amount_pence, paid_pence, refunded_pence)
    SELECT appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, everypenny_shard(),
           sum(sign), sum(sign * amount_pence), sum(sign * paid_pence), sum(sign * refunded_pence)
    FROM (
        SELECT -1 AS sign, o.appeal_id AS appeal_id, o.channel AS channel, o.status AS status,
               coalesce(o.keyword, '') AS keyword,
               CASE WHEN o.keyword IS NULL THEN 0 ELSE o.amount_pence END AS keyword_amount_pence,
               coalesce(o.failure_reason, '') AS failure_reason,
               o.amount_pence AS amount_pence, o.paid_pence AS paid_pence,
               o.refunded_pence AS refunded_pence, floor(extract(epoch FROM o.created_at) / 60)::bigint AS minute
        FROM donations_before o
        UNION ALL
        SELECT 1 AS sign, n.appeal_id AS appeal_id, n.channel AS channel, n.status AS status,
               coalesce(n.keyword, '') AS keyword,
               CASE WHEN n.keyword IS NULL THEN 0 ELSE n.amount_pence END AS keyword_amount_pence,
               coalesce(n.failure_reason, '') AS failure_reason,
               n.amount_pence AS amount_pence, n.paid_pence AS paid_pence,
               n.refunded_pence AS refunded_pence, floor(extract(epoch FROM n.created_at) / 60)::bigint AS minute
        FROM updated_donations n
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
    SELECT appeal_id, minute, everypenny_shard(), sum(sign)
    FROM (
        SELECT -1 AS sign, o.appeal_id AS appeal_id, o.channel AS channel, o.status AS status,
               coalesce(o.keyword, '') AS keyword,
               CASE WHEN o.keyword IS NULL THEN 0 ELSE o.amount_pence END AS keyword_amount_pence,
               coalesce(o.failure_reason, '') AS failure_reason,
               o.amount_pence AS amount_pence, o.paid_pence AS paid_pence,
               o.refunded_pence AS refunded_pence, floor(extract(epoch FROM o.created_at) / 60)::bigint AS minute
        FROM donations_before o
        UNION ALL
        SELECT 1 AS sign, n.appeal_id AS appeal_id, n.channel AS channel, n.status AS status,
               coalesce(n.keyword, '') AS keyword,
               CASE WHEN n.keyword IS NULL THEN 0 ELSE n.amount_pence END AS keyword_amount_pence,
               coalesce(n.failure_reason, '') AS failure_reason,
               n.amount_pence AS amount_pence, n.paid_pence AS paid_pence,
               n.refunded_pence AS refunded_pence, floor(extract(epoch FROM n.created_at) / 60)::bigint AS minute
        FROM updated_donations n
    ) c WHERE true
    GROUP BY appeal_id, minute HAVING sum(sign) <> 0
    ON CONFLICT (appeal_id, minute, shard) DO UPDATE SET
        donation_count = donation_minute_counts.donation_count + excluded.donation_count;
    RETURN NULL;
END $$;
CREATE TRIGGER donations_rollup_update AFTER UPDATE ON donations
    REFERENCING OLD TABLE AS donations_before NEW TABLE AS updated_donations
    FOR EACH STATEMENT EXECUTE FUNCTION everypenny_roll_up_changed_donations();
