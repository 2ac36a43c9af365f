# shellcheck shell=bash
# The local stack (scripts/run): MariaDB, "MySQL" (MariaDB locally) and PostgreSQL
# primary/replica pairs, two medical and two administrative service instances, the patient
# portal and medgate, all on 127.0.0.1 under one supervisord. Sourced after common.sh.

STACK_DIR=${MEDGATE_STACK_DIR:-/var/tmp/medgate-stack}
# The accounts' privileges, shared with the compose nodes.
# shellcheck source=/dev/null
source "$MEDGATE_ROOT/deploy/compose/db-privileges"
PG_BIN=/usr/lib/postgresql/15/bin
# The binaries it runs: the default build, or another build tree's (the tests set it).
BIN="${MEDGATE_BIN_DIR:-$MEDGATE_ROOT/build/default/apps}"

# name port server_id role database app_user app_password_variable (credentials.env)
MARIADB_NODES=(
  "medical-db-primary 3306 1 primary medical medical_app MEDICAL_DB_PASSWORD"
  "medical-db-replica 3316 2 replica medical medical_app MEDICAL_DB_PASSWORD"
  "portal-db-primary 3307 11 primary portal portal_app PORTAL_DB_PASSWORD"
  "portal-db-replica 3308 12 replica portal portal_app PORTAL_DB_PASSWORD"
)
CREDENTIALS="$STACK_DIR/credentials.env"
SECRETS="$STACK_DIR/secrets"
WITH_CREDENTIALS="$MEDGATE_ROOT/scripts/lib/with-credentials"
# libpq (psql, pg_basebackup, pg_rewind, the standbys' WAL receivers) finds the
# PostgreSQL password here.
export PGPASSFILE="$SECRETS/pgpass"
PG_PRIMARY_PORT=5433
PG_STANDBY_PORT=5434
# The monitors' etcd (one member; not etcd's default ports, which a system etcd may hold).
ETCD_URL=http://127.0.0.1:2479
ETCD_PEER_URL=http://127.0.0.1:2480
# program:port of each monitor; the first of each cluster is the one the dashboard asks.
MONITOR_PROGRAMS=(mariadb-monitor:8011 postgres-monitor:8012 mysql-monitor:8013
  mariadb-monitor-2:8021 postgres-monitor-2:8022 mysql-monitor-2:8023)

is_root() { [ "$(id -u)" -eq 0 ]; }
run_as() {  # run_as USER CMD...: as USER when we are root (the servers refuse root)
  local user=$1; shift
  if is_root; then runuser -u "$user" -- "$@"; else "$@"; fi
}

ctl() { supervisorctl -c "$STACK_DIR/supervisord.conf" "$@"; }

mariadb_cnf() {  # name port server_id role
  local name=$1 port=$2 id=$3 role=$4 dir="$STACK_DIR/$1"
  cat <<CNF
[mariadbd]
datadir=$dir/data
port=$port
bind-address=127.0.0.1
socket=$dir/run/mysqld.sock
pid-file=$dir/run/mysqld.pid
log-error=$dir/run/error.log
tmpdir=$dir/tmp
$(is_root && echo "user=mysql")
server_id=$id
log_bin=$dir/data/binlog
binlog_format=ROW
gtid_strict_mode=ON
gtid_domain_id=0
log_slave_updates=ON
relay_log=relay-bin
skip-name-resolve
skip_slave_start=OFF
# Every node starts fenced: only its monitor makes the elected primary writable, at run time,
# so a restarted node never comes back writable.
read_only=ON
rpl_semi_sync_slave_enabled=ON
# Turned on at run time on the elected primary only, by its monitor, which also sets the
# timeout out of reach: the server never falls back to asynchronous by itself.
rpl_semi_sync_master_enabled=OFF
# Lossless: the default AFTER_COMMIT is not.
rpl_semi_sync_master_wait_point=AFTER_SYNC
# A replica notices a dead primary's connection within seconds, not a minute.
slave_net_timeout=5
innodb_buffer_pool_size=64M
innodb_log_file_size=16M
[client]
socket=$dir/run/mysqld.sock
user=$(id -un)
CNF
}

init_mariadb() {  # name port server_id role
  local dir="$STACK_DIR/$1"
  # Rewritten every start: the file is derived, and older stacks get today's fencing.
  mkdir -p "$dir/run" "$dir/data" "$dir/tmp"
  mariadb_cnf "$@" >"$dir/my.cnf"
  [ -d "$dir/data/mysql" ] && return 0
  log "initializing $1 (MariaDB, port $2)"
  is_root && chown -R mysql:mysql "$dir"
  # root (and the user running the stack, when that is not root) by unix socket only: no
  # account without a password over TCP.
  local socket_user=()
  is_root || socket_user=(--auth-root-socket-user="$(id -un)")
  mariadb-install-db --defaults-file="$dir/my.cnf" --auth-root-authentication-method=socket \
    "${socket_user[@]}" --skip-test-db >"$dir/install.log" 2>&1 ||
    die "mariadb-install-db failed: see $dir/install.log"
}

init_postgres_primary() {
  local dir="$STACK_DIR/admin-db-primary"
  [ -f "$dir/data/PG_VERSION" ] && return 0
  log "initializing admin-db-primary (PostgreSQL, port $PG_PRIMARY_PORT)"
  mkdir -p "$dir/run"
  is_root && chown -R postgres:postgres "$dir"
  # Passwords (SCRAM) for every connection, the local socket too: nothing is trusted.
  (umask 077 && printf '%s\n' "$PG_MONITOR_PASSWORD" >"$dir/pwfile")
  is_root && chown postgres:postgres "$dir/pwfile"
  run_as postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 \
    --pwfile="$dir/pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { rm -f "$dir/pwfile"; die "initdb failed: see $dir/initdb.log"; }
  rm -f "$dir/pwfile"
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY_PORT
unix_socket_directories = '$dir/run'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_log_hints = on
hot_standby = on
CONF
}

# Settings every PostgreSQL node needs for its monitor, added to older stacks too:
# a standby asks its primary for a reply after 1 s of silence (so "silent for 2 s" means the
# primary is gone or hung) and reports every second; WAL is kept for a rejoining node. A
# standby whose primary restarted (killed, then started again by supervisord) connects again
# within 500 ms, not PostgreSQL's 5 s: synchronous commits wait for it meanwhile.
ensure_postgres_settings() {  # data dir
  local conf="$1/postgresql.conf" line
  [ -f "$conf" ] || return 0
  for line in "wal_receiver_timeout = 2s" "wal_receiver_status_interval = 1s" \
    "wal_keep_size = 256MB" "wal_retrieve_retry_interval = 500ms"; do
    grep -qxF "$line" "$conf" || printf '%s\n' "$line" >>"$conf"
  done
}

# What the PostgreSQL nodes run as the postgres user (their start wrapper, the db-monitor it
# asks, its configuration), copied into the stack's directory at every start: the checkout
# may lie in a directory other users cannot enter. Says so up front when even that copy is
# out of the postgres user's reach.
install_for_other_users() {
  install -d -m 755 "$STACK_DIR/bin" "$STACK_DIR/etc"
  install -m 755 "$MEDGATE_ROOT/scripts/lib/pg-node-start" "$MEDGATE_ROOT/scripts/lib/kill-node" \
    "$BIN/db-monitor" "$STACK_DIR/bin/"
  install -m 644 "$MEDGATE_ROOT/config/postgres-monitor.example.yaml" "$STACK_DIR/etc/"
  if is_root && ! runuser -u postgres -- test -x "$STACK_DIR/bin/pg-node-start"; then
    die "the postgres user cannot reach $STACK_DIR (a parent directory is closed to other users): set MEDGATE_STACK_DIR to a directory it can enter"
  fi
}

write_supervisord_conf() {
  local conf="$STACK_DIR/supervisord.conf" pg_user=""
  is_root && pg_user="user=postgres"
  # The PostgreSQL nodes start through a wrapper that asks postgres-monitor's record.
  local pg_env="DB_MONITOR_BIN=\"$STACK_DIR/bin/db-monitor\",PG_MONITOR_CONFIG=\"$STACK_DIR/etc/postgres-monitor.example.yaml\",MEDGATE_STACK_DIR=\"$STACK_DIR\",PG_BIN=\"$PG_BIN\",PGPASSFILE=\"$PGPASSFILE\",MEDGATE_ETCD_ENDPOINTS=\"$ETCD_URL\""
  {
    cat <<CONF
[unix_http_server]
file=$STACK_DIR/supervisor.sock

[supervisord]
logfile=$STACK_DIR/supervisord.log
pidfile=$STACK_DIR/supervisord.pid
childlogdir=$STACK_DIR/logs

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$STACK_DIR/supervisor.sock

; The monitors' coordination store: one member on loopback (docs/deploy.md runs three).
[program:etcd]
command=/usr/bin/etcd --name medgate-stack --data-dir $STACK_DIR/etcd --listen-client-urls $ETCD_URL --advertise-client-urls $ETCD_URL --listen-peer-urls $ETCD_PEER_URL --initial-advertise-peer-urls $ETCD_PEER_URL --initial-cluster medgate-stack=$ETCD_PEER_URL
autostart=true
autorestart=true
startsecs=1
stopsignal=TERM
stopwaitsecs=30
priority=5

CONF
    local node name monitor
    for node in "${MARIADB_NODES[@]}"; do
      read -r name _ <<<"$node"
      # The MariaDB nodes start through a wrapper that asks their monitor's record.
      monitor=mariadb-monitor
      [[ $name == portal-* ]] && monitor=mysql-monitor
      cat <<CONF
[program:$name]
command=$MEDGATE_ROOT/scripts/lib/mariadb-node-start $name $STACK_DIR/$name/my.cnf
environment=DB_MONITOR_BIN="$BIN/db-monitor",MARIADB_MONITOR_CONFIG="$MEDGATE_ROOT/config/$monitor.example.yaml",MEDGATE_STACK_DIR="$STACK_DIR",MEDGATE_ETCD_ENDPOINTS="$ETCD_URL"
autostart=true
autorestart=true
stopwaitsecs=120
priority=10

CONF
    done
    cat <<CONF
[program:admin-db-primary]
command=$STACK_DIR/bin/pg-node-start admin-db-primary $STACK_DIR/admin-db-primary/data
environment=$pg_env
$pg_user
autostart=true
autorestart=true
stopsignal=INT
stopwaitsecs=60
priority=10

[program:admin-db-standby]
command=$STACK_DIR/bin/pg-node-start admin-db-standby $STACK_DIR/admin-db-standby/data
environment=$pg_env
$pg_user
autostart=false
autorestart=true
stopsignal=INT
stopwaitsecs=60
priority=10

CONF
    # Two monitors per cluster on etcd: one acts under a leader lease, the other takes over
    # when it goes. A primary back from a hang after a failover is fenced by a kill:
    # supervisord restarts it through its wrapper, as a replica (db-monitors/fence.hpp).
    local medical_fence="MEDICAL_FENCE_COMMAND_PRIMARY=\"supervisorctl -c $conf signal KILL medical-db-primary\",MEDICAL_FENCE_COMMAND_REPLICA=\"supervisorctl -c $conf signal KILL medical-db-replica\""
    local admin_rejoin="PG_REJOIN_COMMAND_PRIMARY=\"supervisorctl -c $conf restart admin-db-primary\",PG_REJOIN_COMMAND_STANDBY=\"supervisorctl -c $conf restart admin-db-standby\""
    # PostgreSQL's backends must die with the postmaster: its whole process group.
    admin_rejoin+=",PG_FENCE_COMMAND_PRIMARY=\"$STACK_DIR/bin/kill-node $conf admin-db-primary\",PG_FENCE_COMMAND_STANDBY=\"$STACK_DIR/bin/kill-node $conf admin-db-standby\""
    local portal_fence="PORTAL_FENCE_COMMAND_PRIMARY=\"supervisorctl -c $conf signal KILL portal-db-primary\",PORTAL_FENCE_COMMAND_REPLICA=\"supervisorctl -c $conf signal KILL portal-db-replica\""
    monitor_program mariadb-monitor mariadb-monitor "$medical_fence"
    monitor_program mariadb-monitor-2 mariadb-monitor "$medical_fence,MEDICAL_MONITOR_PORT=8021,DB_MONITOR_MEMBER=m2,DB_MONITOR_SUFFIX=-2"
    monitor_program postgres-monitor postgres-monitor "$admin_rejoin"
    monitor_program postgres-monitor-2 postgres-monitor "$admin_rejoin,ADMIN_MONITOR_PORT=8022,DB_MONITOR_MEMBER=m2,DB_MONITOR_SUFFIX=-2"
    monitor_program mysql-monitor mysql-monitor "$portal_fence"
    monitor_program mysql-monitor-2 mysql-monitor "$portal_fence,PORTAL_MONITOR_PORT=8023,DB_MONITOR_MEMBER=m2,DB_MONITOR_SUFFIX=-2"
    service_program medical-1 "MEDICAL_PORT=5001" "$BIN/medical-service/medical-service --config $MEDGATE_ROOT/config/medical-service.example.yaml"
    service_program medical-2 "MEDICAL_PORT=5002,SERVICE_AUDIT_SUFFIX=-2" "$BIN/medical-service/medical-service --config $MEDGATE_ROOT/config/medical-service.example.yaml"
    service_program admin-1 "ADMIN_PORT=3012" "$BIN/admin-service/admin-service --config $MEDGATE_ROOT/config/admin-service.example.yaml"
    service_program admin-2 "ADMIN_PORT=3013,SERVICE_AUDIT_SUFFIX=-2" "$BIN/admin-service/admin-service --config $MEDGATE_ROOT/config/admin-service.example.yaml"
    service_program portal "PORTAL_PORT=3003" "$BIN/patient-portal/patient-portal --config $MEDGATE_ROOT/config/patient-portal.example.yaml"
    # Two gateways: the portal spreads its calls over both and fails over. Each runs under
    # medgate-launcher, which holds its listening socket: `scripts/run ctl restart medgate`
    # sends it SIGHUP and a new medgate takes over with no refused connection.
    local launch="$BIN/medgate-launcher --listen"
    service_program medgate "" "$launch 127.0.0.1:8000 -- $BIN/medgate --config $MEDGATE_ROOT/config/medgate.example.yaml"
    service_program medgate-2 "MEDGATE_PORT=8001,MEDGATE_AUDIT_SUFFIX=-2" "$launch 127.0.0.1:8001 -- $BIN/medgate --config $MEDGATE_ROOT/config/medgate.example.yaml"
    # The old system's administrative entry point (port 3002): a route set over the same
    # administrative upstream policies.
    service_program medgate-admin "" "$launch 127.0.0.1:3002 -- $BIN/medgate --config $MEDGATE_ROOT/config/medgate-admin.example.yaml"
    # Service levels: scrapes medgate and the monitors, evaluates config/prometheus's rules;
    # retention bounded for a laptop.
    cat <<CONF
[program:prometheus]
command=/usr/bin/prometheus --config.file=$MEDGATE_ROOT/config/prometheus/prometheus.yml --storage.tsdb.path=$STACK_DIR/prometheus --storage.tsdb.retention.time=7d --storage.tsdb.retention.size=256MB --web.listen-address=127.0.0.1:9090
autostart=true
autorestart=true
startsecs=1
stopsignal=TERM
stopwaitsecs=30
priority=60

CONF
  } >"$conf"
  # No secret in it (they come from credentials.env through with-credentials), but it
  # names every command: the stack's owner's business.
  chmod 600 "$conf"
}

monitor_program() {  # program configuration [extra environment]
  cat <<CONF
[program:$1]
command=$WITH_CREDENTIALS $BIN/db-monitor --config $MEDGATE_ROOT/config/$2.example.yaml
environment=MEDGATE_STACK_DIR="$STACK_DIR",MEDGATE_ETCD_ENDPOINTS="$ETCD_URL"${3:+,$3}
autostart=false
autorestart=true
startsecs=1
stopsignal=TERM
stopwaitsecs=30
priority=30

CONF
}

random_secret() {  # bytes: that many random bytes, hex
  head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# Replaces (or adds) NAME=VALUE in credentials.env, keeping it private.
set_credential() {  # name value
  local tmp="$CREDENTIALS.tmp"
  (umask 077 && { grep -v "^$1=" "$CREDENTIALS" 2>/dev/null || true; printf '%s=%s\n' "$1" "$2"; } >"$tmp")
  mv "$tmp" "$CREDENTIALS"
}

load_credentials() {
  set -a
  # shellcheck disable=SC1090
  source "$CREDENTIALS"
  set +a
}

# The stack's development credentials, made on first start and kept in $STACK_DIR, never in
# the repository: credentials.env (600) with the admin, monitor and staff tokens, the demo
# patients' password, the databases' passwords and the log pseudonym key; secrets/ with the
# token signing keys (600) and their public halves (public-keys/, what verifiers read).
ensure_credentials() {
  mkdir -p "$SECRETS/public-keys"
  chmod 711 "$SECRETS"  # the PostgreSQL nodes read their pgpass file in it, nothing else
  chmod 755 "$SECRETS/public-keys"
  if [ ! -s "$CREDENTIALS" ] && compgen -G "$STACK_DIR/*/bootstrapped" >/dev/null; then
    die "this stack was made before credentials.env existed: 'scripts/run reset' makes a new one"
  fi
  local kid var
  for kid in staff-1 portal-1; do
    if [ ! -s "$SECRETS/$kid.key.pem" ]; then
      (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$SECRETS/$kid.key.pem" 2>/dev/null) || die "cannot make the $kid signing key"
      openssl pkey -in "$SECRETS/$kid.key.pem" -pubout -out "$SECRETS/public-keys/$kid.pub.pem" ||
        die "cannot write the $kid public key"
    fi
  done
  if [ ! -s "$CREDENTIALS" ]; then
    log "making the stack's credentials: $CREDENTIALS"
    (umask 077 && printf '# medgate local stack credentials (generated %s). Keep private.\n' \
      "$(date -u +%FT%TZ)" >"$CREDENTIALS")
    for var in MEDGATE_ADMIN_TOKEN MEDGATE_MONITOR_TOKEN MEDGATE_LOG_PSEUDONYM_KEY \
      MEDICAL_DB_PASSWORD PORTAL_DB_PASSWORD ADMIN_DB_PASSWORD DB_MONITOR_PASSWORD \
      DB_REPLICATION_PASSWORD PG_MONITOR_PASSWORD; do
      set_credential "$var" "$(random_secret 20)"
    done
    set_credential MEDGATE_DEMO_PATIENT_PASSWORD "$(random_secret 8)"
  fi
  load_credentials
  # Credentials added since the stack was made.
  if [ -z "${PG_MONITOR_LOGIN_PASSWORD:-}" ]; then
    set_credential PG_MONITOR_LOGIN_PASSWORD "$(random_secret 20)"
    load_credentials
  fi
  # A staff token for operators, drills and tools (doctor + administrative: reads of history
  # and payments, payments posted), and Dra. Soto's (doctor 1 in the medical seed's staff),
  # for consultations, which are written in the name of the doctor a token names. Renewed
  # on every start; tokens made before stay valid until they expire.
  set_credential MEDGATE_STAFF_TOKEN "$("$BIN/medgate-token" --key "$SECRETS/staff-1.key.pem" \
    --kid staff-1 --issuer medgate-local --audience medgate --subject stack-operator \
    --roles doctor,administrative --ttl 30d)" || die "cannot sign the staff token"
  set_credential MEDGATE_DOCTOR_TOKEN "$("$BIN/medgate-token" --key "$SECRETS/staff-1.key.pem" \
    --kid staff-1 --issuer medgate-local --audience medgate --subject dr-soto \
    --roles doctor --ttl 30d)" || die "cannot sign the doctor token"
  load_credentials
  (umask 077 && printf '*:*:*:postgres:%s\n' "$PG_MONITOR_PASSWORD" >"$PGPASSFILE")
  is_root && chown postgres:postgres "$PGPASSFILE"
  chmod 600 "$PGPASSFILE"
}

service_program() {  # name env command
  cat <<CONF
[program:$1]
command=$WITH_CREDENTIALS $3
environment=MEDGATE_STACK_DIR="$STACK_DIR"${2:+,$2}
autostart=false
autorestart=true
startsecs=1
stopsignal=TERM
stopwaitsecs=15
priority=50

CONF
}

wait_mariadb() {  # name
  local _
  for _ in $(seq 1 150); do
    mariadb-admin --defaults-file="$STACK_DIR/$1/my.cnf" ping >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "$1 did not become ready: see $STACK_DIR/$1/run/error.log"
}

wait_postgres() {  # port
  local _
  for _ in $(seq 1 150); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" && return 0
    sleep 0.2
  done
  die "PostgreSQL on $1 did not become ready"
}

bootstrap_mariadb_pairs() {
  local node name port id role db user pass_var pass primary_port=""
  for node in "${MARIADB_NODES[@]}"; do
    read -r name port id role db user pass_var <<<"$node"
    pass=${!pass_var}
    wait_mariadb "$name"
    [ -f "$STACK_DIR/$name/bootstrapped" ] && { [ "$role" = primary ] && primary_port=$port; continue; }
    local sqlc=(mariadb --defaults-file="$STACK_DIR/$name/my.cnf")
    if [ "$role" = primary ]; then
      primary_port=$port
      "${sqlc[@]}" -e "SET SESSION sql_log_bin=0; DELETE FROM mysql.global_priv WHERE User='';
        FLUSH PRIVILEGES; RESET MASTER;" || die "bootstrap of $name failed"
      # Application users get their own database only: no global privilege, so no READ ONLY
      # ADMIN, and read_only fencing holds for them.
      "${sqlc[@]}" -e "CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY '$DB_REPLICATION_PASSWORD';
        GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO 'repl'@'127.0.0.1';
        CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$pass';
        GRANT $APP_PRIVILEGES ON $db.* TO '$user'@'127.0.0.1';" \
        || die "bootstrap of $name failed"
    else
      "${sqlc[@]}" -e "SET SESSION sql_log_bin=0; DELETE FROM mysql.global_priv WHERE User='';
        FLUSH PRIVILEGES; RESET MASTER;
        CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port, MASTER_USER='repl',
          MASTER_PASSWORD='$DB_REPLICATION_PASSWORD', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1,
          MASTER_HEARTBEAT_PERIOD=0.5;
        START SLAVE;" || die "bootstrap of $name failed"
    fi
    touch "$STACK_DIR/$name/bootstrapped"
  done
  # On every node, outside the binlog (no GTID of its own), at every start (older stacks
  # are brought to it): no account without a password over TCP, root by unix socket only,
  # and the monitors' account with what detection, promotion and fencing need
  # (deploy/compose/db-privileges; docs/db-monitors.md), never ALL or SUPER.
  for node in "${MARIADB_NODES[@]}"; do
    read -r name _ <<<"$node"
    harden_mariadb "$name"
  done
}

harden_mariadb() {  # name
  local sqlc=(mariadb --defaults-file="$STACK_DIR/$1/my.cnf" -N)
  local me
  me=$(id -un)
  # A stack made before, by a user other than root, still has root without a password.
  "${sqlc[@]}" -e "SELECT 1" >/dev/null 2>&1 || sqlc+=(--user=root)
  local drop
  drop=$("${sqlc[@]}" -e "SELECT GROUP_CONCAT(CONCAT(QUOTE(User), '@', QUOTE(Host))) FROM
    mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost') OR
    (JSON_VALUE(Priv, '$.plugin') IN ('mysql_native_password', '') AND
     JSON_VALUE(Priv, '$.authentication_string') = '' AND Host <> 'localhost')") ||
    die "cannot list the accounts of $1"
  "${sqlc[@]}" -e "SET SESSION sql_log_bin=0;
    $( [ "$drop" != NULL ] && [ -n "$drop" ] && echo "DROP USER $drop;")
    $(is_root || echo "CREATE USER IF NOT EXISTS '$me'@'localhost' IDENTIFIED VIA unix_socket;
      GRANT ALL ON *.* TO '$me'@'localhost' WITH GRANT OPTION;")
    ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket;
    CREATE USER IF NOT EXISTS 'monitor'@'127.0.0.1' IDENTIFIED BY '$DB_MONITOR_PASSWORD';
    REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'monitor'@'127.0.0.1';
    GRANT $MARIADB_MONITOR_PRIVILEGES ON *.* TO 'monitor'@'127.0.0.1';
    GRANT $MONITOR_SCHEMA_PRIVILEGES TO 'monitor'@'127.0.0.1';" ||
    die "cannot set the accounts of $1"
}

bootstrap_postgres() {
  local primary="$STACK_DIR/admin-db-primary" standby="$STACK_DIR/admin-db-standby"
  wait_postgres "$PG_PRIMARY_PORT"
  if [ ! -f "$primary/bootstrapped" ]; then
    local psql=("$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -v ON_ERROR_STOP=1)
    "${psql[@]}" -c "CREATE ROLE admin_app LOGIN PASSWORD '$ADMIN_DB_PASSWORD'" || die "bootstrap failed"
    "${psql[@]}" -c "CREATE DATABASE administrative OWNER admin_app" || die "bootstrap failed"
    touch "$primary/bootstrapped"
  fi
  if [ ! -f "$standby/data/PG_VERSION" ]; then
    log "cloning admin-db-standby from the primary (pg_basebackup)"
    mkdir -p "$standby/run"
    is_root && chown -R postgres:postgres "$standby"
    run_as postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres \
      -D "$standby/data" -R -X stream -C -S admin_standby -d "application_name=admin_standby" \
      -c fast >"$standby/basebackup.log" 2>&1 || die "pg_basebackup failed: see $standby/basebackup.log"
    run_as postgres tee -a "$standby/data/postgresql.conf" >/dev/null <<CONF
port = $PG_STANDBY_PORT
unix_socket_directories = '$standby/run'
CONF
  fi
  ctl start admin-db-standby >/dev/null || die "admin-db-standby did not start"
  wait_postgres "$PG_STANDBY_PORT"
  harden_postgres
}

# The monitor's own role (deploy/compose/postgres/monitor-role.sql), not the superuser: made or
# brought up to date at every start on whichever node takes writes (roles replicate).
harden_postgres() {
  local port
  for port in "$PG_PRIMARY_PORT" "$PG_STANDBY_PORT"; do
    [ "$("$PG_BIN/psql" -qAt -h 127.0.0.1 -p "$port" -U postgres -d postgres \
      -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] || continue
    "$PG_BIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -v monitor_password="$PG_MONITOR_LOGIN_PASSWORD" \
      -f "$MEDGATE_ROOT/deploy/compose/postgres/monitor-role.sql" >/dev/null ||
      die "cannot make the PostgreSQL monitor's role on port $port"
    return 0
  done
  die "no PostgreSQL node takes writes: the monitor's role cannot be made"
}

# The monitors, once the databases answer: each elects its pair's primary on first start
# (bootstrap_primary) and makes it writable; the services need that for their migrations.
start_monitors() {
  mkdir -p "$STACK_DIR/mariadb-monitor" "$STACK_DIR/postgres-monitor" "$STACK_DIR/mysql-monitor"
  chmod 755 "$STACK_DIR/mariadb-monitor" "$STACK_DIR/postgres-monitor" "$STACK_DIR/mysql-monitor"
  ctl start "${MONITOR_PROGRAMS[@]%%:*}" >/dev/null || true
  local monitor port _
  for monitor in "${MONITOR_PROGRAMS[@]}"; do
    wait_http "http://127.0.0.1:${monitor#*:}/health" "${monitor%%:*}"
  done
  for port in 8011 8012 8013; do
    # A primary that takes writes, within 30 s (the first start elects one); otherwise say so
    # and go on: the services wait for it themselves, and the monitor's /status says why.
    for _ in $(seq 1 150); do
      curl -fsS -o /dev/null "http://127.0.0.1:$port/primary" 2>/dev/null && break
      sleep 0.2
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$port/primary" 2>/dev/null ||
      log "warning: no primary takes writes yet (see http://127.0.0.1:$port/status)"
  done
}

# One line per monitor: whether it acts (or which one does), its cluster's primary,
# replication mode and state.
monitors_status() {
  local monitor port
  for monitor in "${MONITOR_PROGRAMS[@]}"; do
    port=${monitor#*:}
    printf '%-19s ' "${monitor%%:*}"
    curl -fsS --max-time 2 "http://127.0.0.1:$port/status" 2>/dev/null |
      grep -o '"acting":[a-z]*\|"acting_member":"[^"]*"\|"state":"[^"]*"\|"primary":"[^"]*"\|"replication_mode":"[^"]*"\|"epoch":[0-9]*' |
      tr '\n' ' ' || printf 'not answering'
    printf '\n'
  done
}

wait_http() {  # url name
  local _
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$2 did not answer on $1: see $STACK_DIR/logs"
}

stack_start() {
  mkdir -p "$STACK_DIR/logs" "$STACK_DIR/prometheus"
  chmod 755 "$STACK_DIR"
  ensure_credentials
  local node
  for node in "${MARIADB_NODES[@]}"; do
    # shellcheck disable=SC2086
    init_mariadb $node
  done
  init_postgres_primary
  ensure_postgres_settings "$STACK_DIR/admin-db-primary/data"
  ensure_postgres_settings "$STACK_DIR/admin-db-standby/data"
  install_for_other_users
  write_supervisord_conf
  if [ -S "$STACK_DIR/supervisor.sock" ] && ctl pid >/dev/null 2>&1; then
    ctl update >/dev/null
  else
    supervisord -c "$STACK_DIR/supervisord.conf" || die "supervisord did not start"
  fi
  bootstrap_mariadb_pairs
  bootstrap_postgres
  start_monitors
  local svc
  for svc in medical-1 medical-2 admin-1 admin-2; do ctl start "$svc" >/dev/null || true; done
  wait_http http://127.0.0.1:5001/health medical-1
  wait_http http://127.0.0.1:5002/health medical-2
  wait_http http://127.0.0.1:3012/health admin-1
  wait_http http://127.0.0.1:3013/health admin-2
  ctl start medgate medgate-2 medgate-admin portal >/dev/null || true
  wait_http http://127.0.0.1:8000/health/liveness medgate
  wait_http http://127.0.0.1:8001/health/liveness medgate-2
  wait_http http://127.0.0.1:3002/health/liveness medgate-admin
  wait_http http://127.0.0.1:3003/health portal
  wait_http http://127.0.0.1:9090/-/ready prometheus
}

stack_stop() {
  if [ -S "$STACK_DIR/supervisor.sock" ] && ctl pid >/dev/null 2>&1; then
    ctl stop all >/dev/null || true
    ctl shutdown >/dev/null || true
    log "stack stopped (data kept in $STACK_DIR; 'scripts/run reset' deletes it)"
  else
    log "stack is not running"
  fi
}
