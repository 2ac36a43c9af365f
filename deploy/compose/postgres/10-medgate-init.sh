#!/usr/bin/env bash
# Run once on the primary's first start, by the postgres-node image (deploy/images/postgres-node)
# on a server with no network, psql reaching it through PGHOST/PGUSER/PGPASSWORD:
# replication connections with a password, the administrative service's role and database
# (the service runs its own migrations), the monitor's role, then read-only until the monitor
# elects it.
set -euo pipefail
printf 'host replication all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 -U postgres -v pass="$ADMIN_DB_PASSWORD" <<'SQL'
CREATE ROLE admin_app LOGIN PASSWORD :'pass';
CREATE DATABASE administrative OWNER admin_app;
SQL
# The monitor's own role, not the superuser (docs/db-monitors.md).
psql -v ON_ERROR_STOP=1 -U postgres -d postgres -v monitor_password="$PG_MONITOR_LOGIN_PASSWORD" \
  -f /usr/local/lib/medgate/monitor-role.sql
# Read-only until elected, like every MariaDB and MySQL node: the monitor's bootstrap makes the
# elected primary writable (ALTER SYSTEM ... off). Last, so the statements above could write.
psql -v ON_ERROR_STOP=1 -U postgres -c "ALTER SYSTEM SET default_transaction_read_only = on"
