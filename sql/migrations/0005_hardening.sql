-- Hardening (issue 10): write policies as narrow as the service, guards on the columns that
-- carry a lifecycle, FORCE ROW LEVEL SECURITY where the owner's own tools act through the
-- policies, and idempotency keys whose fingerprint may arrive with the answer.

-- Tokens ---------------------------------------------------------------------------------------

-- A member admin manages the tokens of its organization's member users, not those of an auditor
-- the coalition appointed in a partner organization; coalition admins manage every token.
CREATE FUNCTION app_manages_tokens_of(p_user_id uuid, p_organization_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT app_is_admin() OR (app_role() = 'member_admin' AND p_organization_id = app_organization_id()
        AND EXISTS (SELECT 1 FROM users u WHERE u.id = p_user_id AND u.organization_id = p_organization_id
                    AND u.role IN ('member_admin', 'member_editor', 'member_viewer')))
$$;
REVOKE ALL ON FUNCTION app_manages_tokens_of(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_manages_tokens_of(uuid, uuid) TO coalition_app;

DROP POLICY api_tokens_managed ON api_tokens;
DROP POLICY api_tokens_revoke ON api_tokens;
CREATE POLICY api_tokens_managed ON api_tokens FOR SELECT USING (app_manages_tokens_of(user_id, organization_id));
CREATE POLICY api_tokens_revoke ON api_tokens FOR UPDATE
    USING (app_manages_tokens_of(user_id, organization_id)) WITH CHECK (app_manages_tokens_of(user_id, organization_id));

-- A token is revoked once and for ever; its grant never widens: nothing else of it changes
-- but when it was last used, and an expiry that comes sooner.
CREATE FUNCTION api_tokens_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.user_id, NEW.organization_id, NEW.kind, NEW.name, NEW.key_id, NEW.secret_hash, NEW.scopes, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.user_id, OLD.organization_id, OLD.kind, OLD.name, OLD.key_id, OLD.secret_hash, OLD.scopes, OLD.created_at) THEN
        RAISE EXCEPTION 'a token''s grant cannot change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.expires_at IS DISTINCT FROM OLD.expires_at AND (NEW.expires_at IS NULL OR NEW.expires_at > coalesce(OLD.expires_at, 'infinity')) THEN
        RAISE EXCEPTION 'a token''s expiry cannot be put off' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'a revoked token stays revoked' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER api_tokens_guard BEFORE UPDATE ON api_tokens FOR EACH ROW EXECUTE FUNCTION api_tokens_guard();

-- Standards ------------------------------------------------------------------------------------

-- Issuers are named when a standard is created, by its creator, in the creating transaction
-- (now() is the transaction's start, as the standard's created_at), or by a coalition admin.
DROP POLICY issuers_insert ON standard_issuers;
CREATE POLICY issuers_insert ON standard_issuers FOR INSERT WITH CHECK (
    app_is_admin() OR (app_role() IN ('member_admin', 'member_editor') AND EXISTS (
        SELECT 1 FROM standards s
        WHERE s.id = standard_issuers.standard_id AND s.created_by = app_user_id() AND s.created_at = now())));

-- New versions are drafts.
DROP POLICY versions_insert ON standard_versions;
CREATE POLICY versions_insert ON standard_versions FOR INSERT WITH CHECK (
    status = 'draft' AND review_round = 0 AND review_comment IS NULL
    AND (app_is_admin() OR (app_role() IN ('member_admin', 'member_editor') AND standard_id IN (SELECT app_issued_standard_ids()))));

-- A version moves only along its lifecycle, and only coalition admins take the review and
-- publication steps; only a draft's text changes.
CREATE FUNCTION standard_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.standard_id, NEW.number, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM (OLD.id, OLD.standard_id, OLD.number, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'a version''s identity cannot change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.body, NEW.change_note) IS DISTINCT FROM (OLD.body, OLD.change_note) AND OLD.status <> 'draft' THEN
        RAISE EXCEPTION 'only a draft''s text changes' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'draft' AND NEW.status = 'in_review')
        OR (app_is_admin() AND (
            (OLD.status = 'in_review' AND NEW.status IN ('approved', 'draft'))
            OR (OLD.status = 'approved' AND NEW.status = 'published')
            OR (OLD.status = 'published' AND NEW.status IN ('superseded', 'withdrawn'))))) THEN
        RAISE EXCEPTION 'version % may not move from % to % for this role', OLD.number, OLD.status, NEW.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.review_round IS DISTINCT FROM OLD.review_round
       AND NOT (OLD.status = 'draft' AND NEW.status = 'in_review' AND NEW.review_round = OLD.review_round + 1) THEN
        RAISE EXCEPTION 'a review round starts only when a draft is submitted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.review_comment IS DISTINCT FROM OLD.review_comment AND NEW.review_comment IS NOT NULL AND NOT app_is_admin() THEN
        RAISE EXCEPTION 'only coalition admins comment on a review' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER standard_versions_guard BEFORE UPDATE ON standard_versions FOR EACH ROW EXECUTE FUNCTION standard_versions_guard();

-- The standard's own publication state is the coalition admins' to set.
CREATE FUNCTION standards_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.code, NEW.created_by, NEW.created_at) IS DISTINCT FROM (OLD.id, OLD.code, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'a standard''s identity cannot change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT app_is_admin() AND (NEW.published_version IS DISTINCT FROM OLD.published_version
                               OR (NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('draft', 'in_review'))) THEN
        RAISE EXCEPTION 'only coalition admins approve, publish or withdraw a standard' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER standards_guard BEFORE UPDATE ON standards FOR EACH ROW EXECUTE FUNCTION standards_guard();

-- Only a published version can be adopted.
DROP POLICY adoptions_insert ON adoptions;
CREATE POLICY adoptions_insert ON adoptions FOR INSERT WITH CHECK (
    organization_id = app_organization_id() AND app_role() IN ('member_admin', 'member_editor') AND created_by = app_user_id()
    AND EXISTS (SELECT 1 FROM standard_versions v
                WHERE v.standard_id = adoptions.standard_id AND v.number = adoptions.version_number AND v.status = 'published'));

-- FORCE: the policies bind the tables' owner too. Only tables that the owner's own commands
-- (seed-demo) write through the policies, as the caller each write is for, and that no
-- SECURITY DEFINER function must read unfiltered.
ALTER TABLE milestones FORCE ROW LEVEL SECURITY;
ALTER TABLE submissions FORCE ROW LEVEL SECURITY;
ALTER TABLE standard_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE standard_reviews FORCE ROW LEVEL SECURITY;
ALTER TABLE adoptions FORCE ROW LEVEL SECURITY;

-- Idempotency keys -----------------------------------------------------------------------------

-- A request whose body is hashed as it streams (a bulk file) is claimed before its fingerprint
-- is known; the fingerprint is stored with the answer.
ALTER TABLE idempotency_keys ALTER COLUMN fingerprint DROP NOT NULL;
-- Each claim has an id: a request whose claim was taken over by a retry (after it ran for
-- longer than any request may) can neither record an answer nor release the retry's claim.
ALTER TABLE idempotency_keys ADD COLUMN claim_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_answered_fingerprint CHECK (state = 'running' OR fingerprint IS NOT NULL);
