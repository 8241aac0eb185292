#!/usr/bin/env bash
# Run once by the postgres image's entrypoint (docker-entrypoint-initdb.d), on an empty data
# directory, as the superuser. Creates:
#   coalition_owner  LOGIN; owns the database `coalition` (hence its public schema) and runs
#                    the migrations, so it owns every table.
#   coalition_app    LOGIN NOBYPASSRLS, owns nothing: the role `serve` connects as, subject to
#                    row-level security. Migration 0001 would create it NOLOGIN otherwise.
# Neither is a superuser or has CREATEDB/CREATEROLE. Passwords come from the environment and are
# passed as psql variables (:'name' quotes them), never spliced into the SQL text.
# Works whether the entrypoint executes this file or sources it.

: "${COALITION_OWNER_PASSWORD:?COALITION_OWNER_PASSWORD must be set}"
: "${COALITION_APP_PASSWORD:?COALITION_APP_PASSWORD must be set}"

psql -X -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    --set owner_password="$COALITION_OWNER_PASSWORD" \
    --set app_password="$COALITION_APP_PASSWORD" <<'SQL'
CREATE ROLE coalition_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'owner_password';
CREATE ROLE coalition_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
ALTER ROLE coalition_app SET jit = off;
-- As scripts/pg-local does: the owner is a member of the app role.
GRANT coalition_app TO coalition_owner;
CREATE DATABASE coalition OWNER coalition_owner;
SQL
