-- Shared standards: versions, review ballots with quorum, publication, adoption.

-- Codes CLC-STD-0001, … come from a counter row updated in the creating transaction: a rolled
-- back creation rolls the counter back too, so codes have no gaps and no duplicates.
CREATE TABLE standard_code_counter (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    last integer NOT NULL DEFAULT 0
);
INSERT INTO standard_code_counter DEFAULT VALUES;
GRANT SELECT, UPDATE ON standard_code_counter TO coalition_app;

CREATE TABLE standards (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code              text NOT NULL CONSTRAINT standards_code_key UNIQUE,
    title             text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    category          text NOT NULL CHECK (category IN ('product', 'packaging', 'logistics', 'materials', 'energy', 'other')),
    status            text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'in_review', 'approved', 'published', 'withdrawn')),
    current_version   integer NOT NULL DEFAULT 1,
    published_version integer,
    created_by        uuid NOT NULL REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE standard_issuers (
    standard_id     uuid NOT NULL REFERENCES standards (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (standard_id, organization_id)
);
CREATE INDEX standard_issuers_organization ON standard_issuers (organization_id);

CREATE TABLE standard_versions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    standard_id    uuid NOT NULL REFERENCES standards (id),
    number         integer NOT NULL CHECK (number > 0),
    body           text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 200000),
    change_note    text NOT NULL DEFAULT '' CHECK (char_length(change_note) <= 2000),
    status         text NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'in_review', 'approved', 'published', 'superseded', 'withdrawn')),
    review_round   integer NOT NULL DEFAULT 0,
    review_comment text,
    created_by     uuid NOT NULL REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT standard_versions_number_key UNIQUE (standard_id, number)
);

CREATE TABLE standard_reviews (
    standard_version_id uuid NOT NULL REFERENCES standard_versions (id),
    review_round        integer NOT NULL,
    reviewer_id         uuid NOT NULL REFERENCES users (id),
    decision            text NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment             text CHECK (char_length(comment) <= 2000),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (standard_version_id, review_round, reviewer_id),
    CHECK (decision = 'approve' OR coalesce(btrim(comment), '') <> '')
);

CREATE TABLE adoptions (
    standard_id     uuid NOT NULL REFERENCES standards (id),
    version_number  integer NOT NULL,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    adopted_on      date NOT NULL,
    evidence_url    text CHECK (char_length(evidence_url) <= 2000),
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (standard_id, version_number, organization_id)
);
CREATE INDEX adoptions_organization ON adoptions (organization_id);

-- Standards the actor's organization issues (SECURITY DEFINER: policies on standard_issuers
-- use it without recursing).
CREATE FUNCTION app_issued_standard_ids() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT standard_id FROM standard_issuers WHERE organization_id = app_organization_id()
$$;
GRANT EXECUTE ON FUNCTION app_issued_standard_ids() TO coalition_app;

-- A standard that has been published (now or before) is public; drafts are visible to coalition
-- admins, auditors and users of the issuing organizations only.
ALTER TABLE standards ENABLE ROW LEVEL SECURITY;
CREATE POLICY standards_read ON standards FOR SELECT USING (
    published_version IS NOT NULL OR status IN ('published', 'withdrawn')
    OR app_reads_everything() OR id IN (SELECT app_issued_standard_ids())
    -- the creator sees the row it is inserting, before its issuers are recorded
    OR created_by = app_user_id());
CREATE POLICY standards_insert ON standards FOR INSERT WITH CHECK (
    app_is_admin() OR app_role() IN ('member_admin', 'member_editor'));
CREATE POLICY standards_update ON standards FOR UPDATE USING (
    app_is_admin() OR (app_role() IN ('member_admin', 'member_editor') AND id IN (SELECT app_issued_standard_ids())));
GRANT SELECT, INSERT, UPDATE ON standards TO coalition_app;

ALTER TABLE standard_issuers ENABLE ROW LEVEL SECURITY;
CREATE POLICY issuers_read ON standard_issuers FOR SELECT USING (standard_id IN (SELECT id FROM standards));
CREATE POLICY issuers_insert ON standard_issuers FOR INSERT WITH CHECK (
    app_is_admin() OR app_role() IN ('member_admin', 'member_editor'));
GRANT SELECT, INSERT ON standard_issuers TO coalition_app;

-- Non-issuers see published, superseded and withdrawn versions only, never a draft.
ALTER TABLE standard_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY versions_read ON standard_versions FOR SELECT USING (
    status IN ('published', 'superseded', 'withdrawn')
    OR app_reads_everything() OR standard_id IN (SELECT app_issued_standard_ids()));
CREATE POLICY versions_insert ON standard_versions FOR INSERT WITH CHECK (
    app_is_admin() OR (app_role() IN ('member_admin', 'member_editor') AND standard_id IN (SELECT app_issued_standard_ids())));
CREATE POLICY versions_update ON standard_versions FOR UPDATE USING (
    app_is_admin() OR (app_role() IN ('member_admin', 'member_editor') AND standard_id IN (SELECT app_issued_standard_ids())));
GRANT SELECT, INSERT, UPDATE ON standard_versions TO coalition_app;

ALTER TABLE standard_reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY reviews_read ON standard_reviews FOR SELECT USING (
    app_reads_everything() OR standard_version_id IN (SELECT v.id FROM standard_versions v WHERE v.standard_id IN (SELECT app_issued_standard_ids())));
CREATE POLICY reviews_write ON standard_reviews FOR INSERT WITH CHECK (app_is_admin() AND reviewer_id = app_user_id());
CREATE POLICY reviews_update ON standard_reviews FOR UPDATE USING (app_is_admin() AND reviewer_id = app_user_id());
GRANT SELECT, INSERT, UPDATE ON standard_reviews TO coalition_app;

ALTER TABLE adoptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY adoptions_read ON adoptions FOR SELECT USING (true);
CREATE POLICY adoptions_insert ON adoptions FOR INSERT WITH CHECK (
    organization_id = app_organization_id() AND app_role() IN ('member_admin', 'member_editor') AND created_by = app_user_id());
GRANT SELECT, INSERT ON adoptions TO coalition_app;

-- The summary report's counts, extended with standards and adoptions.
DROP FUNCTION coalition_counts();
CREATE FUNCTION coalition_counts(OUT members bigint, OUT partners bigint, OUT projects bigint, OUT active_projects bigint,
                                 OUT standards bigint, OUT adoptions bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT (SELECT count(*) FROM organizations WHERE kind = 'member' AND status = 'active'),
           (SELECT count(*) FROM organizations WHERE kind = 'partner' AND status = 'active'),
           (SELECT count(*) FROM projects WHERE status <> 'cancelled'),
           (SELECT count(*) FROM projects WHERE status = 'active'),
           (SELECT count(*) FROM standards WHERE status = 'published' OR (published_version IS NOT NULL AND status <> 'withdrawn')),
           (SELECT count(*) FROM adoptions)
$$;
GRANT EXECUTE ON FUNCTION coalition_counts() TO coalition_app;

-- Members name co-issuers they cannot read (row-level security hides other organizations):
-- this answers only whether an id is an active member or partner.
CREATE FUNCTION issuable_organization(p_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM organizations WHERE id = p_id AND kind IN ('member', 'partner') AND status = 'active')
$$;
GRANT EXECUTE ON FUNCTION issuable_organization(uuid) TO coalition_app;
