#!/usr/bin/env bash
# Run once by the postgres image on the primary's first start (docker-entrypoint-initdb.d):
# replication connections with a password, the administrative service's role and database
# (the service runs its own migrations).
set -euo pipefail
printf 'host replication all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 -U postgres -v pass="$ADMIN_DB_PASSWORD" <<'SQL'
CREATE ROLE admin_app LOGIN PASSWORD :'pass';
CREATE DATABASE administrative OWNER admin_app;
SQL
