-- What the audit sealer has yet to chain, for the server's metrics: the committed entries
-- without a seq, and how old the oldest of them is (0 when none). The app role cannot read the
-- log without a caller who may, so this runs as the owner, and tells nothing but two numbers.
CREATE FUNCTION audit_backlog(OUT entries bigint, OUT oldest_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(at))::double precision, 0)
    FROM audit_log WHERE seq IS NULL
$$;
REVOKE ALL ON FUNCTION audit_backlog() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_backlog() TO coalition_app;
