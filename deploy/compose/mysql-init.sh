#!/usr/bin/env bash
# A node's first start, on its temporary server: the accounts and the application's database,
# written to no binary log, then an empty binary log; a replica (REPLICA_OF set) then
# replicates its primary from the first transaction by GTID. The service runs its own
# migrations on the primary. Run by the mariadb-node image (deploy/images/mariadb-node) with
# root over the unix socket, and by the mysql:8.0 image of docker-compose.mysql8.yml
# (docker-entrypoint-initdb.d) with its root password.
# Environment: APP_DATABASE, APP_USER, APP_PASSWORD, DB_MONITOR_PASSWORD,
#   DB_REPLICATION_PASSWORD, REPLICA_OF (the primary's host, replicas only), MYSQL_ROOT_PASSWORD
#   (the mysql image only; without it root connects by the unix socket), MYSQL_UNIX_PORT (the
#   socket, when not the default). root is never reachable over the network.
set -euo pipefail
# The accounts' privileges, as the local stack grants them.
# shellcheck source=/dev/null
source /usr/local/lib/medgate/db-privileges
root_password=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
if command -v mariadb >/dev/null; then
  client=(mariadb) flavour=mariadb
else
  client=(mysql) flavour=mysql
fi
client+=(--protocol=socket -uroot)
# The client's option files name the server's usual socket, which beats the variable.
[ -z "${MYSQL_UNIX_PORT:-}" ] || client+=("--socket=$MYSQL_UNIX_PORT")
[ -z "$root_password" ] || client+=("-p$root_password")
# An SQL string literal: backslashes first (MySQL and MariaDB treat them as escapes), then
# quotes, so no password can end the literal.
q() {
  local v=${1//\\/\\\\}
  printf "'%s'" "${v//\'/\'\'}"
}
# Names go into statements unquoted by q(): plain ones only.
for name in "$APP_DATABASE" "$APP_USER" "${REPLICA_OF:-x}"; do
  [[ $name =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || { echo "mysql-init: bad name '$name'" >&2; exit 1; }
done
if [ $flavour = mysql ]; then
  # MariaDB Connector/C (the services, the monitor) without TLS: the native password plugin.
  auth="IDENTIFIED WITH mysql_native_password BY"
  repl_grants="REPLICATION SLAVE"
  monitor_privileges=$MYSQL_MONITOR_PRIVILEGES
  monitor_tables="GRANT $MYSQL_MONITOR_TABLE_PRIVILEGES TO 'monitor'@'%';"
else
  auth="IDENTIFIED BY"
  repl_grants="REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR"
  monitor_privileges=$MARIADB_MONITOR_PRIVILEGES
  monitor_tables=""
fi
"${client[@]}" <<SQL
SET SESSION sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS \`$APP_DATABASE\`;
CREATE USER '$APP_USER'@'%' $auth $(q "$APP_PASSWORD");
GRANT $APP_PRIVILEGES ON \`$APP_DATABASE\`.* TO '$APP_USER'@'%';
CREATE USER 'monitor'@'%' $auth $(q "$DB_MONITOR_PASSWORD");
GRANT $monitor_privileges ON *.* TO 'monitor'@'%';
GRANT $MONITOR_SCHEMA_PRIVILEGES TO 'monitor'@'%';
$monitor_tables
CREATE USER 'repl'@'%' $auth $(q "$DB_REPLICATION_PASSWORD");
GRANT $repl_grants ON *.* TO 'repl'@'%';
FLUSH PRIVILEGES;
RESET MASTER;
SQL
[ -n "${REPLICA_OF:-}" ] || exit 0
if [ $flavour = mysql ]; then
  "${client[@]}" <<SQL
CHANGE REPLICATION SOURCE TO SOURCE_HOST = $(q "$REPLICA_OF"), SOURCE_PORT = 3306,
  SOURCE_USER = 'repl', SOURCE_PASSWORD = $(q "$DB_REPLICATION_PASSWORD"),
  SOURCE_AUTO_POSITION = 1, SOURCE_CONNECT_RETRY = 1, SOURCE_HEARTBEAT_PERIOD = 0.5,
  GET_SOURCE_PUBLIC_KEY = 1;
START REPLICA;
SQL
else
  "${client[@]}" <<SQL
CHANGE MASTER TO MASTER_HOST = $(q "$REPLICA_OF"), MASTER_PORT = 3306, MASTER_USER = 'repl',
  MASTER_PASSWORD = $(q "$DB_REPLICATION_PASSWORD"), MASTER_USE_GTID = slave_pos,
  MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 0.5;
START SLAVE;
SQL
fi
