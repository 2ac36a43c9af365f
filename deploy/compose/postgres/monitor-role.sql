-- The PostgreSQL monitor's role, on the primary (roles reach the standby by replication):
-- what detection, promotion and fencing run, and nothing more. Run by psql with
-- -v monitor_password=...: by the local stack at every start, by the compose primary's
-- initialisation, and (the password put in) by the monitor's integration tests, which
-- fail over, fence and rejoin with exactly this role. One statement per line.
--   pg_monitor            pg_stat_replication, pg_stat_wal_receiver, WAL positions
--   pg_signal_backend     fencing ends the application's sessions (never a superuser's)
--   pg_promote, pg_reload_conf               promotion, and settings taking effect
--   ALTER SYSTEM on four parameters          read-only fencing, synchronous mode, rejoin
--   CREATE on schema public (database postgres)   its heartbeat table
SET default_transaction_read_only = off;
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medgate_monitor') THEN CREATE ROLE medgate_monitor; END IF; END $$;
ALTER ROLE medgate_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'monitor_password';
GRANT pg_monitor, pg_signal_backend TO medgate_monitor;
GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer), pg_reload_conf() TO medgate_monitor;
GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only, synchronous_standby_names, primary_conninfo, primary_slot_name TO medgate_monitor;
GRANT CREATE ON SCHEMA public TO medgate_monitor;
DO $$ BEGIN IF to_regclass('public.medgate_monitor_heartbeat') IS NOT NULL THEN ALTER TABLE public.medgate_monitor_heartbeat OWNER TO medgate_monitor; END IF; END $$;
