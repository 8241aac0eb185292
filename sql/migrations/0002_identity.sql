-- Identity, access control and the audit trail.
--
-- Row-level security: every request runs in a transaction that first sets
--   coalition.user_id, coalition.organization_id, coalition.role
-- with set_config(…, true) (transaction-local, so it is also right behind a transaction-pooling
-- PgBouncer). The policies below read them through app_user_id() & co. The server connects as
-- coalition_app, which owns nothing and has no BYPASSRLS, so the policies apply to it.

CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('coalition.user_id', true), '')::uuid $$;
CREATE FUNCTION app_organization_id() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('coalition.organization_id', true), '')::uuid $$;
CREATE FUNCTION app_role() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT coalesce(current_setting('coalition.role', true), '') $$;
-- Coalition admins and auditors read across organizations.
CREATE FUNCTION app_reads_everything() RETURNS boolean LANGUAGE sql STABLE
    AS $$ SELECT app_role() IN ('coalition_admin', 'auditor') $$;
CREATE FUNCTION app_is_admin() RETURNS boolean LANGUAGE sql STABLE
    AS $$ SELECT app_role() = 'coalition_admin' $$;

-- Organizations -------------------------------------------------------------------------------

CREATE TABLE organizations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL CONSTRAINT organizations_slug_key UNIQUE
                CONSTRAINT organizations_slug_format CHECK (slug ~ '^[a-z0-9-]{2,63}$'),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('secretariat', 'member', 'partner')),
    sector      text NOT NULL DEFAULT '' CHECK (char_length(sector) <= 100),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'withdrawn')),
    joined_on   date NOT NULL DEFAULT current_date,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organizations_read ON organizations FOR SELECT
    USING (app_reads_everything() OR id = app_organization_id());
CREATE POLICY organizations_insert ON organizations FOR INSERT WITH CHECK (app_is_admin());
CREATE POLICY organizations_update ON organizations FOR UPDATE USING (app_is_admin()) WITH CHECK (app_is_admin());
GRANT SELECT, INSERT, UPDATE ON organizations TO coalition_app;

-- Users ---------------------------------------------------------------------------------------

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    email           text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    display_name    text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
    role            text NOT NULL CHECK (role IN ('coalition_admin', 'auditor', 'member_admin', 'member_editor', 'member_viewer')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization ON users (organization_id, lower(email));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT
    USING (app_reads_everything() OR organization_id = app_organization_id());
CREATE POLICY users_insert ON users FOR INSERT WITH CHECK (
    app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()
                       AND role IN ('member_admin', 'member_editor', 'member_viewer')));
CREATE POLICY users_update ON users FOR UPDATE
    USING (app_is_admin() OR id = app_user_id()
           OR (app_role() = 'member_admin' AND organization_id = app_organization_id()))
    WITH CHECK (app_is_admin()
                -- users editing themselves keep the role their session has
                OR (id = app_user_id() AND role = app_role() AND organization_id = app_organization_id())
                OR (app_role() = 'member_admin' AND organization_id = app_organization_id()
                    AND role IN ('member_admin', 'member_editor', 'member_viewer')));
GRANT SELECT, INSERT, UPDATE ON users TO coalition_app;

-- API tokens and login sessions ---------------------------------------------------------------

CREATE TABLE api_tokens (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    kind            text NOT NULL CHECK (kind IN ('api', 'session')),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    key_id          text NOT NULL CONSTRAINT api_tokens_key_id_key UNIQUE,
    secret_hash     bytea NOT NULL CHECK (length(secret_hash) = 32),
    scopes          text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write'] AND cardinality(scopes) > 0),
    expires_at      timestamptz,
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at, id);

ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
-- Users manage their own tokens; member admins their organization's; coalition admins all.
CREATE POLICY api_tokens_own ON api_tokens FOR ALL
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
CREATE POLICY api_tokens_managed ON api_tokens FOR SELECT
    USING (app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()));
CREATE POLICY api_tokens_revoke ON api_tokens FOR UPDATE
    USING (app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()))
    WITH CHECK (app_is_admin() OR (app_role() = 'member_admin' AND organization_id = app_organization_id()));
GRANT SELECT, INSERT, UPDATE ON api_tokens TO coalition_app;

-- Authentication runs before there is an actor, so it cannot pass the policies above. These
-- two functions are its only way in: each returns one row for an exact key, nothing to list.
CREATE FUNCTION auth_user_by_email(p_email text)
    RETURNS TABLE (id uuid, organization_id uuid, role text, status text, password_hash text,
                   organization_status text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.organization_id, u.role, u.status, u.password_hash, o.status
    FROM users u JOIN organizations o ON o.id = u.organization_id
    WHERE lower(u.email) = lower(p_email)
$$;

CREATE FUNCTION auth_token(p_key_id text)
    RETURNS TABLE (token_id uuid, secret_hash bytea, scopes text[], expires_at timestamptz,
                   revoked_at timestamptz, last_used_at timestamptz, user_id uuid,
                   organization_id uuid, role text, user_status text, organization_status text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id, t.secret_hash, t.scopes, t.expires_at, t.revoked_at, t.last_used_at,
           u.id, u.organization_id, u.role, u.status, o.status
    FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN organizations o ON o.id = u.organization_id
    WHERE t.key_id = p_key_id
$$;

-- last_used_at is refreshed at most once a minute per token, outside the request's own rows.
CREATE FUNCTION auth_touch_token(p_token_id uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE api_tokens SET last_used_at = now()
    WHERE id = p_token_id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
$$;

-- Disabling a user or changing its password ends its sessions and tokens. Tokens are visible
-- to their owner only, so the admin doing it goes through this function.
CREATE FUNCTION auth_revoke_user_tokens(p_user_id uuid) RETURNS integer
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH r AS (UPDATE api_tokens SET revoked_at = now() WHERE user_id = p_user_id AND revoked_at IS NULL RETURNING 1)
    SELECT count(*)::integer FROM r
$$;

REVOKE ALL ON FUNCTION auth_user_by_email(text), auth_token(text), auth_touch_token(uuid), auth_revoke_user_tokens(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), auth_token(text), auth_touch_token(uuid), auth_revoke_user_tokens(uuid) TO coalition_app;

-- Failed logins, for throttling per email and per client address.
CREATE TABLE login_failures (
    id             bigserial PRIMARY KEY,
    email_key      text NOT NULL,
    client_address text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (email_key, at);
CREATE INDEX login_failures_address ON login_failures (client_address, at);
GRANT SELECT, INSERT, DELETE ON login_failures TO coalition_app;
GRANT USAGE ON SEQUENCE login_failures_id_seq TO coalition_app;

-- Audit trail ---------------------------------------------------------------------------------
--
-- Writers append rows with seq and hash NULL, inside their own transaction: no shared lock.
-- audit_seal() then chains committed rows one sealer at a time (a transaction advisory lock):
--   hash = sha256(prev_hash || canonical entry)
-- Chain order is sealing order, so only committed rows are ever sealed and nothing waits on
-- the chain inside a business transaction.

CREATE TABLE audit_log (
    id                    bigserial PRIMARY KEY,
    seq                   bigint CONSTRAINT audit_log_seq_key UNIQUE,
    at                    timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_user_id         uuid,
    actor_organization_id uuid,
    action                text NOT NULL,
    entity                text NOT NULL,
    entity_id             text,
    data                  jsonb NOT NULL DEFAULT '{}',
    prev_hash             text,
    hash                  text
);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;

-- The canonical text of an entry: fixed field order, UTC microsecond timestamp, jsonb's own
-- normalised text (sorted keys), fields separated by a unit separator.
CREATE FUNCTION audit_canonical(p_seq bigint, p_at timestamptz, p_actor uuid, p_org uuid, p_action text,
                                p_entity text, p_entity_id text, p_data jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws(chr(31), p_seq::text,
                     to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                     coalesce(p_actor::text, ''), coalesce(p_org::text, ''), p_action, p_entity,
                     coalesce(p_entity_id, ''), p_data::text)
$$;

CREATE FUNCTION audit_hash(p_prev text, p_canonical text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT encode(sha256(convert_to(p_prev || p_canonical, 'UTF8')), 'hex') $$;

-- Entries are append-only: no DELETE, and the only UPDATE is sealing an unsealed entry
-- without touching its content.
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND NEW.id = OLD.id AND NEW.at = OLD.at
       AND NEW.actor_user_id IS NOT DISTINCT FROM OLD.actor_user_id
       AND NEW.actor_organization_id IS NOT DISTINCT FROM OLD.actor_organization_id
       AND NEW.action = OLD.action AND NEW.entity = OLD.entity
       AND NEW.entity_id IS NOT DISTINCT FROM OLD.entity_id AND NEW.data = OLD.data THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();

CREATE FUNCTION audit_seal(p_limit integer DEFAULT 10000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_seq  bigint;
    head_hash text;
    prev      text;
    entry     record;
    sealed    integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7306370560) THEN
        RETURN 0;  -- another sealer is at work; it or the next tick seals these rows
    END IF;
    SELECT seq, hash INTO head_seq, head_hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
    head_seq := coalesce(head_seq, 0);
    head_hash := coalesce(head_hash, repeat('0', 64));
    FOR entry IN SELECT * FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT p_limit LOOP
        head_seq := head_seq + 1;
        prev := head_hash;
        head_hash := audit_hash(prev, audit_canonical(head_seq, entry.at, entry.actor_user_id,
                     entry.actor_organization_id, entry.action, entry.entity, entry.entity_id, entry.data));
        UPDATE audit_log SET seq = head_seq, prev_hash = prev, hash = head_hash WHERE id = entry.id;
        sealed := sealed + 1;
    END LOOP;
    RETURN sealed;
END
$$;

-- Verification, set-wise: each entry's hash recomputed from its content and its prev_hash, and
-- each prev_hash equal to the hash before it. Returns the first bad seq (NULL when intact).
CREATE FUNCTION audit_verify(OUT ok boolean, OUT entries bigint, OUT first_bad_seq bigint, OUT head_hash text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH chain AS (
        SELECT seq, hash,
               coalesce(hash IS NOT NULL AND prev_hash IS NOT NULL
                        AND prev_hash = coalesce(lag(hash) OVER (ORDER BY seq), repeat('0', 64))
                        AND seq = row_number() OVER (ORDER BY seq)
                        AND hash = audit_hash(prev_hash, audit_canonical(seq, at, actor_user_id, actor_organization_id,
                                                                        action, entity, entity_id, data)), false) AS good
        FROM audit_log WHERE seq IS NOT NULL
    )
    SELECT bool_and(good) IS NOT FALSE, count(*), min(seq) FILTER (WHERE NOT good),
           (SELECT hash FROM chain ORDER BY seq DESC LIMIT 1)
    FROM chain
$$;

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (app_reads_everything());
-- Writers append unsealed rows in their own name (anonymous rows, such as failed logins, have no actor).
CREATE POLICY audit_log_append ON audit_log FOR INSERT WITH CHECK (
    seq IS NULL AND hash IS NULL AND prev_hash IS NULL AND actor_user_id IS NOT DISTINCT FROM app_user_id());
GRANT SELECT, INSERT ON audit_log TO coalition_app;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO coalition_app;
REVOKE ALL ON FUNCTION audit_seal(integer), audit_verify() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_seal(integer), audit_verify() TO coalition_app;
