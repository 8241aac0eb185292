-- Product carbon footprints (issue 13): members declare footprints of their goods in the PACT v3
-- data model, and Coalition serves the published ones to PACT clients (data recipients) through
-- the PACT Data Exchange Protocol v3 (/auth/token, /3/footprints, /3/events).
--
-- A footprint's document is the member's PACT ProductFootprint without the fields the server
-- sets (id, specVersion, created, status); those come from the row, so that a version can be
-- deprecated without rewriting its document. The columns beside the document are what the
-- PACT filters match on, read from it by the domain's FootprintRules when it is stored.

CREATE TABLE product_footprints (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    state           text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    status          text NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Deprecated')),
    document        jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    standard_id     uuid REFERENCES standards (id),
    product_ids     text[] NOT NULL,
    company_ids     text[] NOT NULL,
    classifications text[] NOT NULL,
    geographies     text[] NOT NULL,
    validity_start  timestamptz NOT NULL,
    validity_end    timestamptz NOT NULL,
    preceding_ids   uuid[] NOT NULL DEFAULT '{}',
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    deprecated_at   timestamptz,
    CHECK ((state = 'published') = (published_at IS NOT NULL)),
    CHECK (status = 'Active' OR state = 'published')
);
-- The PACT feed: published footprints in the order they were created, paged by (created_at, id).
CREATE INDEX product_footprints_feed ON product_footprints (created_at, id) WHERE state = 'published';
CREATE INDEX product_footprints_organization ON product_footprints (organization_id, created_at, id);
CREATE INDEX product_footprints_product_ids ON product_footprints USING gin (product_ids);
CREATE INDEX product_footprints_company_ids ON product_footprints USING gin (company_ids);

-- Who sees a footprint: its organization's users all of its footprints; every user of the
-- coalition the published ones; a PACT client (role 'pact_client', set by the server for a
-- request with a PACT access token) the published ones of the organization it acts for, or all
-- published ones when it acts for the coalition (no organization). Drafts never leave their
-- organization.
ALTER TABLE product_footprints ENABLE ROW LEVEL SECURITY;
CREATE POLICY product_footprints_read ON product_footprints FOR SELECT USING (
    CASE WHEN app_role() = 'pact_client'
         THEN state = 'published' AND (app_organization_id() IS NULL OR organization_id = app_organization_id())
         ELSE app_role() <> '' AND (state = 'published' OR organization_id = app_organization_id())
    END);
CREATE POLICY product_footprints_insert ON product_footprints FOR INSERT WITH CHECK (
    app_role() IN ('member_admin', 'member_editor') AND organization_id = app_organization_id()
    AND created_by = app_user_id() AND state = 'draft');
CREATE POLICY product_footprints_update ON product_footprints FOR UPDATE
    USING (app_role() IN ('member_admin', 'member_editor') AND organization_id = app_organization_id())
    WITH CHECK (app_role() IN ('member_admin', 'member_editor') AND organization_id = app_organization_id());
-- The only changes a footprint knows: a draft published, a published footprint deprecated. Its
-- document, ids and dates never change (a new version is a new footprint). The app role may
-- update only the four columns of those steps; the trigger holds the owner to them as well.
CREATE FUNCTION product_footprints_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.organization_id, NEW.document, NEW.standard_id, NEW.product_ids, NEW.company_ids, NEW.classifications,
        NEW.geographies, NEW.validity_start, NEW.validity_end, NEW.preceding_ids, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.organization_id, OLD.document, OLD.standard_id, OLD.product_ids, OLD.company_ids, OLD.classifications,
        OLD.geographies, OLD.validity_start, OLD.validity_end, OLD.preceding_ids, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'a product footprint does not change; publish a new version' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state <> OLD.state AND NOT (OLD.state = 'draft' AND NEW.state = 'published') THEN
        RAISE EXCEPTION 'a published footprint stays published' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status <> OLD.status AND NOT (OLD.status = 'Active' AND NEW.status = 'Deprecated') THEN
        RAISE EXCEPTION 'a deprecated footprint stays deprecated' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER product_footprints_guard BEFORE UPDATE ON product_footprints
    FOR EACH ROW EXECUTE FUNCTION product_footprints_guard();
-- Not FORCEd: pact_footprint_is_published (below, SECURITY DEFINER) must see every row; the
-- trigger holds the owner to the two steps all the same.
GRANT SELECT, INSERT ON product_footprints TO coalition_app;
GRANT UPDATE (state, status, published_at, deprecated_at) ON product_footprints TO coalition_app;
-- PACT's GetFootprint answers 403 for a footprint the client may not see and 404 for none:
-- whether a published footprint has this id, whoever asks.
CREATE FUNCTION pact_footprint_is_published(p_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM product_footprints WHERE id = p_id AND state = 'published')
$$;
REVOKE ALL ON FUNCTION pact_footprint_is_published(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pact_footprint_is_published(uuid) TO coalition_app;

-- PACT clients: data recipients allowed to read footprints. The secret is kept as its SHA-256
-- (it is 256 random bits); the callback credentials, which the server must present to the
-- client's own token endpoint, are sealed with AES-GCM under a key from configuration.
CREATE TABLE pact_clients (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id               text NOT NULL CONSTRAINT pact_clients_client_id_key UNIQUE,
    secret_hash             bytea NOT NULL CHECK (length(secret_hash) = 32),
    name                    text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    organization_id         uuid REFERENCES organizations (id),
    scopes                  text[] NOT NULL CHECK (scopes <@ ARRAY['footprint:list', 'footprint:read'] AND cardinality(scopes) > 0),
    callback_client_id      text CHECK (char_length(callback_client_id) BETWEEN 1 AND 200),
    callback_secret_sealed  bytea,
    CHECK ((callback_client_id IS NULL) = (callback_secret_sealed IS NULL)),
    created_by              uuid REFERENCES users (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    disabled_at             timestamptz
);
ALTER TABLE pact_clients ENABLE ROW LEVEL SECURITY;
-- Coalition admins manage every client; a member admin the clients acting for its organization.
CREATE POLICY pact_clients_read ON pact_clients FOR SELECT USING (
    app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()));
CREATE POLICY pact_clients_insert ON pact_clients FOR INSERT WITH CHECK (
    (app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()))
    AND created_by = app_user_id());
-- Disabling a client is the one change (its tokens are deleted with it).
CREATE POLICY pact_clients_disable ON pact_clients FOR UPDATE
    USING (app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()))
    WITH CHECK (app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()));
GRANT SELECT, INSERT ON pact_clients TO coalition_app;
GRANT UPDATE (disabled_at) ON pact_clients TO coalition_app;

-- Access tokens handed out by POST /auth/token: the SHA-256 of each, for an hour.
CREATE TABLE pact_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    client_id  uuid NOT NULL REFERENCES pact_clients (id),
    expires_at timestamptz NOT NULL
);
CREATE INDEX pact_tokens_expiry ON pact_tokens (expires_at);
GRANT SELECT, INSERT, DELETE ON pact_tokens TO coalition_app;
-- Revoking a client's tokens happens as its admin, who has no other access to the table.
CREATE FUNCTION pact_revoke_client_tokens(p_id uuid) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM pact_tokens WHERE client_id = p_id AND EXISTS (
            SELECT 1 FROM pact_clients c WHERE c.id = p_id
              AND (app_is_admin() OR (app_role() = 'member_admin' AND c.organization_id = app_organization_id())))
        RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;

-- Client authentication happens before there is a caller: these read one client by its public id.
CREATE FUNCTION pact_client_by_client_id(p_client_id text)
    RETURNS TABLE (id uuid, secret_hash bytea, organization_id uuid, scopes text[], disabled boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id, c.secret_hash, c.organization_id, c.scopes, c.disabled_at IS NOT NULL
    FROM pact_clients c WHERE c.client_id = p_client_id
$$;
CREATE FUNCTION pact_client_by_token(p_token_hash bytea)
    RETURNS TABLE (id uuid, organization_id uuid, scopes text[], expires_at timestamptz, disabled boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id, c.organization_id, c.scopes, t.expires_at, c.disabled_at IS NOT NULL
    FROM pact_tokens t JOIN pact_clients c ON c.id = t.client_id WHERE t.token_hash = p_token_hash
$$;
-- The delivery worker's view of a client: its organization and sealed callback credentials.
CREATE FUNCTION pact_client_callback(p_id uuid)
    RETURNS TABLE (organization_id uuid, callback_client_id text, callback_secret_sealed bytea)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.organization_id, c.callback_client_id, c.callback_secret_sealed FROM pact_clients c WHERE c.id = p_id
$$;
REVOKE ALL ON FUNCTION pact_client_by_client_id(text), pact_client_by_token(bytea), pact_client_callback(uuid),
    pact_revoke_client_tokens(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pact_client_by_client_id(text), pact_client_by_token(bytea), pact_client_callback(uuid),
    pact_revoke_client_tokens(uuid) TO coalition_app;

-- Asynchronous requests (RequestCreated events) waiting for their answer: one row each, taken by
-- one server at a time (FOR UPDATE SKIP LOCKED), retried with backoff, kept across restarts.
CREATE TABLE pact_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id        uuid NOT NULL REFERENCES pact_clients (id),
    request_event_id text NOT NULL CHECK (char_length(request_event_id) BETWEEN 1 AND 200),
    source           text NOT NULL CHECK (char_length(source) BETWEEN 1 AND 2000),
    request          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- The attempt in progress: only the server holding this lease records its outcome.
    lease            uuid,
    last_error       text,
    outcome          text CHECK (outcome IN ('RequestFulfilled', 'RequestRejected')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    CONSTRAINT pact_deliveries_request_key UNIQUE (client_id, request_event_id)
);
CREATE INDEX pact_deliveries_due ON pact_deliveries (next_attempt_at) WHERE state = 'pending';
GRANT SELECT, INSERT, UPDATE ON pact_deliveries TO coalition_app;
