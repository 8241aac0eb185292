-- Foundation: the app role and its access to the migration ledger.
--
-- Two roles: the owner (who runs these migrations and owns every object) and coalition_app,
-- the role the server connects as. coalition_app owns nothing and has no BYPASSRLS, so the
-- row-level security policies of later migrations apply to it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coalition_app') THEN
        CREATE ROLE coalition_app NOLOGIN NOBYPASSRLS;
    END IF;
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO coalition_app;

-- The readiness probe compares the applied versions with the ones the server knows.
GRANT SELECT ON schema_migrations TO coalition_app;
