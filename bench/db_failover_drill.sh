#!/usr/bin/env bash
# Failover drill on the running local stack (scripts/run): keyed writes through medgate while
# a database primary is stopped, killed or hung, then every acknowledged write is looked up
# on the new primary. Prints the timeline from the monitor's events and the writers' log.
#
# Usage: bench/db_failover_drill.sh CLUSTER FAULT [HOLD_SECONDS]
#   CLUSTER  administrative (PostgreSQL, postgres-monitor) | medical (MariaDB, mariadb-monitor)
#   FAULT    stop  (scripts/run ctl stop PRIMARY; started again at the end)
#            kill  (kill -9 of the server and its children; supervisord restarts it)
#            hang  (kill -STOP of the server and its children for HOLD_SECONDS, default 20;
#                   shorter than detection, e.g. 2.5, no failover happens and the writes
#                   wait it out)
# Bounded: writes stop 8 s after the promotion or the end of a hang, at most 120 s.
# Reports, besides detection and promotion times: how many answers left the outcome unknown
# (504 outcome_unknown, or no answer within 5 s) and whether retrying with the same key
# resolved each one; how soon after the fault cleared writes were acknowledged again; and
# every acknowledged write looked up on the current primary (lost, or applied twice).
# Before the fault it acknowledges the monitor (POST /ack), clearing the cooldown a previous
# failover left: without that a second drill within DB_MONITOR_COOLDOWN is refused, by design.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK_DIR=${MEDGATE_STACK_DIR:-/var/tmp/medgate-stack}
cluster=${1:?cluster: administrative or medical}
fault=${2:?fault: stop, kill or hang}
hold=${3:-20}
ctl() { supervisorctl -c "$STACK_DIR/supervisord.conf" "$@"; }
# The staff token (writes through medgate) and the monitors' operator token.
set -a
# shellcheck disable=SC1091
source "$STACK_DIR/credentials.env"
set +a
export PGPASSFILE="$STACK_DIR/secrets/pgpass"
now() { date +%s.%N; }

case $cluster in
  administrative) monitor=postgres-monitor port=8012 path=/api/admin/payments ;;
  medical) monitor=mariadb-monitor port=8011 path=/api/medical/consultations ;;
  *) echo "unknown cluster $cluster" >&2; exit 2 ;;
esac
primary() { curl -fsS --max-time 2 "http://127.0.0.1:$port/primary" 2>/dev/null |
  grep -o '"name":"[^"]*"' | cut -d'"' -f4; }
old=$(primary)
[ -n "$old" ] || { echo "no serving primary in $cluster: is the stack up?" >&2; exit 1; }
run="drill-$(date +%s)"
work=$(mktemp -d)
echo "cluster $cluster, primary $old, fault $fault, run $run"

body() {  # n
  if [ "$cluster" = administrative ]; then
    printf '{"rut":"11111111-1","amount":1000,"concept":"%s-%s"}' "$run" "$1"
  else
    printf '{"patient_rut":"11111111-1","doctor_id":1,"date":"2026-11-29","diagnosis":"%s-%s","treatment":"drill"}' "$run" "$1"
  fi
}

# One writer: each write keeps its Idempotency-Key until it is acknowledged (at most 60 tries),
# so an unknown outcome is resolved by the retry, never by a second payment.
writer() {  # id
  local n=0 stop_at=$(( $(date +%s) + 120 ))
  while [ ! -f "$work/stop" ] && [ "$(date +%s)" -lt "$stop_at" ]; do
    n=$((n + 1))
    local key="$run-$1-$n" tries=0 sent status
    sent=$(now)
    while :; do
      tries=$((tries + 1))
      status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
        -H 'Content-Type: application/json' -H "Idempotency-Key: $key" \
        -H "Authorization: Bearer $MEDGATE_STAFF_TOKEN" \
        --data "$(body "$1-$n")" "http://127.0.0.1:8000$path" || true)
      case $status in 2??) break ;; esac
      echo "$(now) $key $status" >>"$work/failed.$1"
      [ "$tries" -ge 60 ] && break
      sleep 0.2
    done
    echo "$key $sent $(now) $status $tries" >>"$work/writes.$1"
  done
}
# A drill is an operator's test: clear the cooldown a previous failover left, so the monitor
# may act (POST /ack with the stack's operator token).
curl -fsS --max-time 5 -X POST -H "Authorization: Bearer $MEDGATE_MONITOR_TOKEN" \
  "http://127.0.0.1:$port/ack" >/dev/null || echo "warning: /ack failed" >&2

writer 1 & w1=$!
writer 2 & w2=$!
sleep 3

pids() {  # the server's process and its children (PostgreSQL's backends)
  local pid
  pid=$(ctl pid "$old")
  echo "$pid $(pgrep -P "$pid" | tr '\n' ' ')"
}
# The processes are looked up first (supervisorctl takes a good part of a second), so that
# t0 is the signal itself.
[ "$fault" = stop ] || victims=$(pids)
t0=$(now)
case $fault in
  stop) ctl stop "$old" >/dev/null ;;
  kill) kill -9 $victims ;;
  hang)
    stopped=$victims
    kill -STOP $stopped
    (sleep "$hold"; kill -CONT $stopped; now >"$work/cont") &
    resume=$!
    ;;
  *) echo "unknown fault $fault" >&2; touch "$work/stop"; exit 2 ;;
esac
new=""
for _ in $(seq 1 600); do
  new=$(primary || true)
  [ -n "$new" ] && [ "$new" != "$old" ] && break
  # A hang shorter than detection ends without a failover.
  [ -f "$work/cont" ] && awk -v c="$(cat "$work/cont")" -v n="$(now)" 'BEGIN { exit !(n - c > 3) }' && break
  sleep 0.1
done
[ "$fault" = hang ] && wait "$resume"
sleep 8
touch "$work/stop"
wait $w1 $w2
[ "$fault" = stop ] && ctl start "$old" >/dev/null || true

cat "$work"/writes.* | sort -k2 >"$work/writes"
events="$STACK_DIR/$monitor/events.jsonl"
t0ms=$(awk -v t="$t0" 'BEGIN { printf "%d", t * 1000 }')
first_event() {  # type: wall_ms of the first such event after the fault
  grep "\"event\":\"$1\"" "$events" | grep -o '"wall_ms":[0-9]*' | cut -d: -f2 |
    awk -v t="$t0ms" '$1 >= t { print; exit }'
}
since() { [ -n "$1" ] && awk -v a="$1" -v t="$t0ms" 'BEGIN { printf "%.2f s", (a - t) / 1000 }' || echo "-"; }
detected=$(first_event confirmed_down)
promoted=$(first_event promote_done)
first_check=$(first_event check_failed)
# The longest time without an acknowledged write, and when writes were acknowledged again
# after it (the end of the outage as the writers saw it).
read -r gap resumed < <(sort -k3 -n "$work/writes" | awk -v t="$t0" '$4 ~ /^2/ {
    if (p && $3 - p > m) { m = $3 - p; e = $3 } p = $3 }
  END { printf "%.2f %d\n", m, e * 1000 }')
acked=$(awk '$4 ~ /^2/' "$work/writes" | wc -l)
# Answers that left a write's outcome unknown, and whether its key was acknowledged later.
{ cat "$work"/failed.* 2>/dev/null || true; } | awk '$3 == 504 || $3 == "000" { print $2 }' |
  sort -u >"$work/unknown_keys"
unknown=$(wc -l <"$work/unknown_keys")
resolved=$(awk '$4 ~ /^2/ { print $1 }' "$work/writes" | sort | comm -12 - "$work/unknown_keys" | wc -l)
after_clear="-"
if [ -f "$work/cont" ]; then
  after_clear=$(awk -v c="$(cat "$work/cont")" '$4 ~ /^2/ && $3 > c { if (!f || $3 < f) f = $3 }
    END { if (f) printf "%.2f s", f - c; else print "none" }' "$work/writes")
fi
retried=$(awk '$5 > 1 && $4 ~ /^2/' "$work/writes" | wc -l)
unresolved=$(awk '$4 !~ /^2/' "$work/writes" | wc -l)

# Every acknowledged write on the current primary, exactly once.
current=$(primary)
if [ "$cluster" = administrative ]; then
  pgport=$( [ "$current" = admin-db-primary ] && echo 5433 || echo 5434)
  /usr/lib/postgresql/15/bin/psql -X -h 127.0.0.1 -p "$pgport" -U postgres -d administrative -Atc \
    "SELECT concept, count(*) FROM payments WHERE concept LIKE '$run-%' GROUP BY concept" |
    tr '|' ' ' >"$work/present"
else
  mariadb --defaults-file="$STACK_DIR/$current/my.cnf" -N -B medical -e \
    "SELECT diagnosis, count(*) FROM consultations WHERE diagnosis LIKE '$run-%' GROUP BY diagnosis" \
    | tr '\t' ' ' >"$work/present"
fi
lost=$(awk '$4 ~ /^2/ { print $1 }' "$work/writes" | sort >"$work/acked_keys"; cut -d' ' -f1 "$work/present" | sort >"$work/present_keys"; comm -23 "$work/acked_keys" "$work/present_keys" | wc -l)
twice=$(awk '$2 > 1' "$work/present" | wc -l)

cat <<REPORT
| measure | value |
|---|---|
| fault | $fault of $old ($cluster) |
| first failed check | $(since "$first_check") |
| confirmed down (detection) | $(since "$detected") |
| promotion done | $(since "$promoted") (new primary: $new) |
| longest time without an acknowledged write (through medgate) | $gap s |
| writes acknowledged again (end of that gap) | $(since "$resumed") |
| writes acknowledged | $acked ($retried needed a retry with the same key) |
| writes not acknowledged after 60 tries | $unresolved |
| answers with the outcome unknown (504 outcome_unknown or none within 5 s) | $unknown, $resolved of them resolved by retrying with the same key |
| first acknowledged write after the fault cleared (hang) | $after_clear |
| acknowledged writes lost | $lost |
| writes applied twice | $twice |
REPORT
rm -rf "$work"
