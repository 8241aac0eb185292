-- Joint projects, milestones, progress submissions, idempotency keys, maintained totals.

-- The metric catalogue and its units. Conversion within a family is exact (numeric factors).
CREATE TABLE units (
    code   text PRIMARY KEY,
    family text NOT NULL,
    factor numeric NOT NULL CHECK (factor > 0)
);
INSERT INTO units (code, family, factor) VALUES
    ('t', 'mass', 1), ('kg', 'mass', 0.001),
    ('tCO2e', 'co2e', 1), ('kgCO2e', 'co2e', 0.001),
    ('unit', 'count', 1), ('percent', 'share', 1),
    ('kWh', 'energy', 1), ('Wh', 'energy', 0.001), ('MWh', 'energy', 1000);

CREATE TABLE metrics (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{2,63}$'),
    name        text NOT NULL,
    unit        text NOT NULL REFERENCES units (code),
    aggregation text NOT NULL CHECK (aggregation IN ('sum', 'latest', 'mean'))
);
INSERT INTO metrics (code, name, unit, aggregation) VALUES
    ('co2e_reduced', 'Greenhouse gas emissions reduced', 'tCO2e', 'sum'),
    ('material_recycled', 'Material recycled', 't', 'sum'),
    ('packaging_recycled', 'Packaging units recycled', 'unit', 'sum'),
    ('products_sold', 'Products sold', 'unit', 'sum'),
    ('clean_electricity_share', 'Share of clean electricity', 'percent', 'latest'),
    ('energy_saved', 'Energy saved', 'kWh', 'sum');
GRANT SELECT ON units, metrics TO coalition_app;

-- Projects ----------------------------------------------------------------------------------

CREATE TABLE projects (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code                 text NOT NULL CONSTRAINT projects_code_key UNIQUE CHECK (code ~ '^[a-z0-9-]{2,63}$'),
    title                text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description          text NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
    category             text NOT NULL CHECK (category IN ('materials', 'logistics', 'packaging', 'awareness', 'energy', 'other')),
    status               text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'active', 'completed', 'cancelled')),
    lead_organization_id uuid NOT NULL REFERENCES organizations (id),
    starts_on            date NOT NULL,
    ends_on              date NOT NULL,
    sdgs                 int[] NOT NULL DEFAULT '{}' CHECK (sdgs <@ ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_on <= ends_on)
);

CREATE TABLE project_participants (
    project_id      uuid NOT NULL REFERENCES projects (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    joined_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, organization_id)
);
CREATE INDEX project_participants_organization ON project_participants (organization_id, project_id);

-- The projects the actor's organization takes part in. SECURITY DEFINER so that policies on
-- project_participants itself can use it without recursing.
CREATE FUNCTION app_project_ids() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT project_id FROM project_participants WHERE organization_id = app_organization_id()
$$;
GRANT EXECUTE ON FUNCTION app_project_ids() TO coalition_app;

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY projects_read ON projects FOR SELECT
    USING (app_reads_everything() OR id IN (SELECT app_project_ids()));
CREATE POLICY projects_write ON projects FOR INSERT WITH CHECK (app_is_admin());
CREATE POLICY projects_update ON projects FOR UPDATE USING (app_is_admin()) WITH CHECK (app_is_admin());
GRANT SELECT, INSERT, UPDATE ON projects TO coalition_app;

ALTER TABLE project_participants ENABLE ROW LEVEL SECURITY;
CREATE POLICY participants_read ON project_participants FOR SELECT
    USING (app_reads_everything() OR project_id IN (SELECT app_project_ids()));
CREATE POLICY participants_insert ON project_participants FOR INSERT WITH CHECK (app_is_admin());
CREATE POLICY participants_delete ON project_participants FOR DELETE USING (app_is_admin());
GRANT SELECT, INSERT, DELETE ON project_participants TO coalition_app;

-- Milestones --------------------------------------------------------------------------------

CREATE TABLE milestones (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id   uuid NOT NULL REFERENCES projects (id),
    key          text NOT NULL CHECK (key ~ '^[a-z0-9-]{1,63}$'),
    title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    metric       text NOT NULL REFERENCES metrics (code),
    target_value numeric NOT NULL CHECK (target_value > 0),
    due_on       date NOT NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'achieved', 'missed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT milestones_key_key UNIQUE (project_id, key),
    CONSTRAINT milestones_id_project_key UNIQUE (id, project_id)
);

ALTER TABLE milestones ENABLE ROW LEVEL SECURITY;
CREATE POLICY milestones_read ON milestones FOR SELECT
    USING (app_reads_everything() OR project_id IN (SELECT app_project_ids()));
-- Coalition admins, and member admins of the project's lead organization.
CREATE POLICY milestones_insert ON milestones FOR INSERT WITH CHECK (
    app_is_admin() OR (app_role() = 'member_admin' AND EXISTS (
        SELECT 1 FROM projects p WHERE p.id = project_id AND p.lead_organization_id = app_organization_id())));
CREATE POLICY milestones_update ON milestones FOR UPDATE USING (
    app_is_admin() OR (app_role() = 'member_admin' AND EXISTS (
        SELECT 1 FROM projects p WHERE p.id = project_id AND p.lead_organization_id = app_organization_id())));
GRANT SELECT, INSERT, UPDATE ON milestones TO coalition_app;

-- Submissions -------------------------------------------------------------------------------

CREATE TABLE submissions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    milestone_id    uuid NOT NULL REFERENCES milestones (id),
    project_id      uuid NOT NULL REFERENCES projects (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    value           numeric NOT NULL,
    unit            text NOT NULL REFERENCES units (code),
    value_canonical numeric NOT NULL,
    notes           text,
    evidence_url    text,
    external_ref    text,
    status          text NOT NULL DEFAULT 'submitted'
                    CHECK (status IN ('submitted', 'approved', 'rejected', 'withdrawn', 'verified')),
    submitted_by    uuid NOT NULL REFERENCES users (id),
    reviewed_by     uuid REFERENCES users (id),
    review_comment  text,
    verified_by     uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    reviewed_at     timestamptz,
    verified_at     timestamptz,
    CHECK (period_start <= period_end),
    -- project_id is denormalised for row-level security and feeds; it must be the milestone's.
    FOREIGN KEY (milestone_id, project_id) REFERENCES milestones (id, project_id)
);
-- The natural key: one live submission per milestone, organization and period.
CREATE UNIQUE INDEX submissions_natural_key ON submissions (milestone_id, organization_id, period_start, period_end)
    WHERE status IN ('submitted', 'approved', 'verified');
CREATE INDEX submissions_project_feed ON submissions (project_id, updated_at, id);
CREATE INDEX submissions_feed ON submissions (updated_at, id);
CREATE INDEX submissions_organization ON submissions (organization_id, updated_at, id);
CREATE INDEX submissions_milestone ON submissions (milestone_id, status);

ALTER TABLE submissions ENABLE ROW LEVEL SECURITY;
CREATE POLICY submissions_read ON submissions FOR SELECT
    USING (app_reads_everything() OR project_id IN (SELECT app_project_ids()));
CREATE POLICY submissions_insert ON submissions FOR INSERT WITH CHECK (
    organization_id = app_organization_id() AND app_role() IN ('member_admin', 'member_editor')
    AND project_id IN (SELECT app_project_ids()) AND submitted_by = app_user_id() AND status = 'submitted'
    AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = organization_id AND o.kind = 'member'));
-- Each role moves a submission only along its own edges of the lifecycle.
CREATE POLICY submissions_update ON submissions FOR UPDATE
    USING (app_role() IN ('coalition_admin', 'auditor')
           OR (organization_id = app_organization_id() AND app_role() IN ('member_admin', 'member_editor')))
    WITH CHECK ((app_is_admin() AND status IN ('approved', 'rejected'))
                OR (app_role() = 'auditor' AND status = 'verified')
                OR (organization_id = app_organization_id() AND app_role() IN ('member_admin', 'member_editor') AND status = 'withdrawn'));

-- What a submission says never changes after it is stored, and its status moves only along
-- the lifecycle: the maintained totals below rely on both.
CREATE FUNCTION submissions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.milestone_id, NEW.project_id, NEW.organization_id, NEW.period_start, NEW.period_end, NEW.value, NEW.unit,
        NEW.value_canonical, NEW.submitted_by)
       IS DISTINCT FROM
       (OLD.milestone_id, OLD.project_id, OLD.organization_id, OLD.period_start, OLD.period_end, OLD.value, OLD.unit,
        OLD.value_canonical, OLD.submitted_by) THEN
        RAISE EXCEPTION 'a stored submission''s content cannot change' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'submitted' AND NEW.status IN ('approved', 'rejected', 'withdrawn'))
        OR (OLD.status = 'approved' AND NEW.status = 'verified')) THEN
        RAISE EXCEPTION 'illegal submission transition % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER submissions_guard BEFORE UPDATE ON submissions FOR EACH ROW EXECUTE FUNCTION submissions_guard();
GRANT SELECT, INSERT, UPDATE ON submissions TO coalition_app;

-- Maintained totals: a submission counts once it is approved, and an approved submission only
-- moves on to verified, so totals only grow and a trigger keeps them exact. Progress and
-- reports read these instead of scanning submissions.
CREATE TABLE milestone_totals (
    milestone_id       uuid PRIMARY KEY REFERENCES milestones (id),
    total              numeric NOT NULL DEFAULT 0,
    counted            bigint NOT NULL DEFAULT 0,
    latest_period_end  date,
    latest_value       numeric
);
CREATE TABLE contribution_totals (
    metric          text NOT NULL REFERENCES metrics (code),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    project_id      uuid NOT NULL REFERENCES projects (id),
    quarter         date NOT NULL,  -- first day of the quarter of period_end
    total           numeric NOT NULL DEFAULT 0,
    counted         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, organization_id, project_id, quarter)
);

CREATE FUNCTION submissions_count_totals() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m_metric text;
BEGIN
    IF NEW.status IN ('approved', 'verified')
       AND (TG_OP = 'INSERT' OR OLD.status NOT IN ('approved', 'verified')) THEN
        SELECT metric INTO m_metric FROM milestones WHERE id = NEW.milestone_id;
        INSERT INTO milestone_totals AS t (milestone_id, total, counted, latest_period_end, latest_value)
        VALUES (NEW.milestone_id, NEW.value_canonical, 1, NEW.period_end, NEW.value_canonical)
        ON CONFLICT (milestone_id) DO UPDATE SET
            total = t.total + EXCLUDED.total, counted = t.counted + 1,
            latest_period_end = CASE WHEN t.latest_period_end IS NULL OR EXCLUDED.latest_period_end >= t.latest_period_end
                                     THEN EXCLUDED.latest_period_end ELSE t.latest_period_end END,
            latest_value = CASE WHEN t.latest_period_end IS NULL OR EXCLUDED.latest_period_end >= t.latest_period_end
                                THEN EXCLUDED.latest_value ELSE t.latest_value END;
        INSERT INTO contribution_totals AS c (metric, organization_id, project_id, quarter, total, counted)
        VALUES (m_metric, NEW.organization_id, NEW.project_id, date_trunc('quarter', NEW.period_end)::date, NEW.value_canonical, 1)
        ON CONFLICT (metric, organization_id, project_id, quarter) DO UPDATE SET
            total = c.total + EXCLUDED.total, counted = c.counted + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER submissions_totals AFTER INSERT OR UPDATE OF status ON submissions
    FOR EACH ROW EXECUTE FUNCTION submissions_count_totals();

ALTER TABLE milestone_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY milestone_totals_read ON milestone_totals FOR SELECT USING (
    app_reads_everything() OR milestone_id IN (SELECT id FROM milestones));
GRANT SELECT ON milestone_totals TO coalition_app;
ALTER TABLE contribution_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY contribution_totals_read ON contribution_totals FOR SELECT USING (
    app_reads_everything() OR organization_id = app_organization_id() OR project_id IN (SELECT app_project_ids()));
GRANT SELECT ON contribution_totals TO coalition_app;

-- Coalition-wide totals are public (the anonymous summary report): this function returns only
-- sums per metric and period, never an organization's own rows.
CREATE FUNCTION coalition_totals(p_from date, p_to date, p_by text)
    RETURNS TABLE (metric text, unit text, aggregation text, period date, total numeric, counted bigint, organizations bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.metric, m.unit, m.aggregation,
           CASE WHEN p_by = 'quarter' THEN c.quarter ELSE date_trunc('year', c.quarter)::date END AS period,
           sum(c.total), sum(c.counted), count(DISTINCT c.organization_id)
    FROM contribution_totals c JOIN metrics m ON m.code = c.metric
    WHERE (p_from IS NULL OR c.quarter >= date_trunc('quarter', p_from)::date)
      AND (p_to IS NULL OR c.quarter <= p_to)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 4
$$;
CREATE FUNCTION coalition_counts(OUT members bigint, OUT partners bigint, OUT projects bigint, OUT active_projects bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT (SELECT count(*) FROM organizations WHERE kind = 'member' AND status = 'active'),
           (SELECT count(*) FROM organizations WHERE kind = 'partner' AND status = 'active'),
           (SELECT count(*) FROM projects WHERE status <> 'cancelled'),
           (SELECT count(*) FROM projects WHERE status = 'active')
$$;
GRANT EXECUTE ON FUNCTION coalition_totals(date, date, text), coalition_counts() TO coalition_app;

-- Idempotency keys ----------------------------------------------------------------------------

CREATE TABLE idempotency_keys (
    user_id          uuid NOT NULL,
    key              text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    fingerprint      bytea NOT NULL,
    state            text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
    status_code      int,
    response_headers jsonb,
    response_body    bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY idempotency_own ON idempotency_keys FOR ALL
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO coalition_app;

-- Keys live 24 hours; the server purges older ones across all users about once a minute.
CREATE FUNCTION purge_idempotency_keys() RETURNS integer
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours' RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;
GRANT EXECUTE ON FUNCTION purge_idempotency_keys() TO coalition_app;
