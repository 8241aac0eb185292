-- The console (issue 12): a login in the browser is a session of its own kind. Its secret
-- travels only in an HttpOnly cookie under /console, and the API refuses it as a bearer token,
-- as the console refuses the API's tokens: auth_token says which kind a token is.

ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('api', 'session', 'console'));

DROP FUNCTION auth_token(text);
CREATE FUNCTION auth_token(p_key_id text)
    RETURNS TABLE (token_id uuid, secret_hash bytea, scopes text[], expires_at timestamptz,
                   revoked_at timestamptz, last_used_at timestamptz, user_id uuid,
                   organization_id uuid, role text, user_status text, organization_status text,
                   kind text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id, t.secret_hash, t.scopes, t.expires_at, t.revoked_at, t.last_used_at,
           u.id, u.organization_id, u.role, u.status, o.status, t.kind
    FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN organizations o ON o.id = u.organization_id
    WHERE t.key_id = p_key_id
$$;
REVOKE ALL ON FUNCTION auth_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_token(text) TO coalition_app;
