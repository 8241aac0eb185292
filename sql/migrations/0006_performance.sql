-- Performance (issue 11): totals kept per statement instead of per row, the cached callers'
-- invalidation, and last-use times written in batches.

-- Maintained totals, per statement ------------------------------------------------------------
--
-- The row-level trigger ran once per stored row (a million calls for a million-row upload) and
-- upserted the same totals row once per counted row. These run once per statement over its
-- transition table and upsert each totals row once. INSERT and UPDATE need a trigger each: a
-- trigger with transition tables has one event and no column list.

DROP TRIGGER submissions_totals ON submissions;
DROP FUNCTION submissions_count_totals();

-- Adds the submissions in `counted` (just approved or verified) to both totals tables.
CREATE FUNCTION submissions_add_totals(counted submissions[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO milestone_totals AS t (milestone_id, total, counted, latest_period_end, latest_value)
    SELECT s.milestone_id, sum(s.value_canonical), count(*), max(s.period_end),
           (array_agg(s.value_canonical ORDER BY s.period_end DESC))[1]
    FROM unnest(counted) AS s GROUP BY s.milestone_id
    ON CONFLICT (milestone_id) DO UPDATE SET
        total = t.total + EXCLUDED.total, counted = t.counted + EXCLUDED.counted,
        latest_period_end = CASE WHEN t.latest_period_end IS NULL OR EXCLUDED.latest_period_end >= t.latest_period_end
                                 THEN EXCLUDED.latest_period_end ELSE t.latest_period_end END,
        latest_value = CASE WHEN t.latest_period_end IS NULL OR EXCLUDED.latest_period_end >= t.latest_period_end
                            THEN EXCLUDED.latest_value ELSE t.latest_value END;
    INSERT INTO contribution_totals AS c (metric, organization_id, project_id, quarter, total, counted)
    SELECT m.metric, s.organization_id, s.project_id, date_trunc('quarter', s.period_end)::date, sum(s.value_canonical), count(*)
    FROM unnest(counted) AS s JOIN milestones m ON m.id = s.milestone_id
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (metric, organization_id, project_id, quarter) DO UPDATE SET
        total = c.total + EXCLUDED.total, counted = c.counted + EXCLUDED.counted;
$$;
REVOKE ALL ON FUNCTION submissions_add_totals(submissions[]) FROM PUBLIC;

-- One function for both triggers: each names its transition tables, and PL/pgSQL plans only
-- the branch of the event that fired.
CREATE FUNCTION submissions_count_totals() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    counted submissions[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n) INTO counted FROM inserted_rows n WHERE n.status IN ('approved', 'verified');
    ELSE
        SELECT array_agg(n) INTO counted FROM updated_rows n JOIN previous_rows o ON o.id = n.id
        WHERE n.status IN ('approved', 'verified') AND o.status NOT IN ('approved', 'verified');
    END IF;
    IF counted IS NOT NULL THEN
        PERFORM submissions_add_totals(counted);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER submissions_totals_insert AFTER INSERT ON submissions
    REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION submissions_count_totals();
CREATE TRIGGER submissions_totals_update AFTER UPDATE ON submissions
    REFERENCING OLD TABLE AS previous_rows NEW TABLE AS updated_rows FOR EACH STATEMENT EXECUTE FUNCTION submissions_count_totals();

-- A submission's milestone and project are one key: (milestone_id, project_id) references
-- milestones, whose project_id references projects. The two single-column keys said it again
-- and cost every stored row two more lookups.
ALTER TABLE submissions DROP CONSTRAINT submissions_milestone_id_fkey, DROP CONSTRAINT submissions_project_id_fkey;

-- Cached callers ---------------------------------------------------------------------------------
--
-- Servers keep token → caller in memory for a few seconds. A change that ends or narrows what a
-- token may do (revocation, expiry, a user disabled, re-roled or given a new password, an
-- organization suspended) notifies channel `coalition_auth` when it commits; every server
-- listening there drops its cache.

CREATE FUNCTION auth_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('coalition_auth', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER api_tokens_auth_change AFTER UPDATE OF revoked_at, expires_at, scopes OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION auth_notify_change();
CREATE TRIGGER users_auth_change AFTER UPDATE OF status, role, password_hash, organization_id OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION auth_notify_change();
CREATE TRIGGER organizations_auth_change AFTER UPDATE OF status OR DELETE ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION auth_notify_change();

-- Last use of many tokens at once, at most once a minute each: written in the background.
CREATE FUNCTION auth_touch_tokens(p_token_ids uuid[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE api_tokens SET last_used_at = now()
    WHERE id = ANY (p_token_ids) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
$$;
REVOKE ALL ON FUNCTION auth_touch_tokens(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_touch_tokens(uuid[]) TO coalition_app;
