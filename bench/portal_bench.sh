#!/usr/bin/env bash
# The portal's page (GET /patient: one medgate call and one database read) side by side:
#   one-per-call  the portal opens a new connection to medgate for every call (max_idle: 0)
#   pooled        keep-alive pools to two medgate instances, spread and failing over
# On the running local stack (scripts/run): it starts its own two medgate instances (ports
# 8100, 8101; the stack's configuration without the per-caller rate limit, which would cap
# one patient's pages) and two portals (3103, 3104) on the stack's databases and services,
# signs a demo patient in on each, and runs wrk against both in alternation.
# Usage: bench/portal_bench.sh [rounds=3] [seconds=10] [connections=20]
#        bench/portal_bench.sh --patients [patients=20] [seconds=10] [connections=20] [rounds=2]
#          many patients through the stack's own medgate instances, with the CPU per page of
#          each component (bench/portal_patients.sh)
set -euo pipefail
if [ "${1:-}" = --patients ]; then
  shift
  exec "$(dirname "$0")/portal_patients.sh" "$@"
fi
source "$(dirname "$0")/../scripts/lib/common.sh"
rounds=${1:-3}; secs=${2:-10}; conns=${3:-20}
STACK_DIR=${MEDGATE_STACK_DIR:-/var/tmp/medgate-stack}
[ -f "$STACK_DIR/credentials.env" ] || die "no local stack in $STACK_DIR (scripts/run)"
ensure_packages wrk
bin="$MEDGATE_ROOT/build/default/apps"
work=$(mktemp -d /tmp/medgate-portal-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
set -a; source "$STACK_DIR/credentials.env"; set +a
export MEDGATE_STACK_DIR="$STACK_DIR"

grep -v '^client_rate_limit:' "$MEDGATE_ROOT/config/medgate.example.yaml" >"$work/medgate.yaml"
for i in 0 1; do
  MEDGATE_PORT=$((8100 + i)) MEDGATE_AUDIT_SUFFIX="-bench-$i" \
    "$bin/medgate" --config "$work/medgate.yaml" >"$work/medgate-$i.log" 2>&1 & pids+=($!)
done
sed 's/^  timeout: 3s$/  timeout: 3s\n  max_idle: ${PORTAL_GATEWAY_MAX_IDLE:-64}/' \
  "$MEDGATE_ROOT/config/patient-portal.example.yaml" >"$work/portal.yaml"
# one-per-call: one medgate, a new connection per call; pooled: both, keep-alive.
PORTAL_PORT=3103 PORTAL_GATEWAY_URL=http://127.0.0.1:8100 PORTAL_GATEWAY_URL_2=http://127.0.0.1:8100 \
  PORTAL_GATEWAY_MAX_IDLE=0 "$bin/patient-portal/patient-portal" --config "$work/portal.yaml" \
  >"$work/portal-0.log" 2>&1 & pids+=($!)
PORTAL_PORT=3104 PORTAL_GATEWAY_URL=http://127.0.0.1:8100 PORTAL_GATEWAY_URL_2=http://127.0.0.1:8101 \
  "$bin/patient-portal/patient-portal" --config "$work/portal.yaml" >"$work/portal-1.log" 2>&1 & pids+=($!)
for url in http://127.0.0.1:8100/health/liveness http://127.0.0.1:8101/health/liveness \
  http://127.0.0.1:3103/health http://127.0.0.1:3104/health; do
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "$url" || { tail -5 "$work"/*.log; die "$url does not answer"; }
done

cookie() {  # port: sign the demo patient in, print the session cookie
  curl -s -o /dev/null -D - -H "Origin: http://127.0.0.1:$1" \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "rut=22222222-2&password=$MEDGATE_DEMO_PATIENT_PASSWORD" "http://127.0.0.1:$1/login" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "set-cookie" { split($2, a, ";"); print a[1] }'
}
declare -A cookies=([3103]=$(cookie 3103) [3104]=$(cookie 3104))
declare -A names=([3103]=one-per-call [3104]=pooled)
for p in 3103 3104; do
  [ -n "${cookies[$p]}" ] || die "sign-in on $p failed"
  curl -fsS -o /dev/null -H "Cookie: ${cookies[$p]}" "http://127.0.0.1:$p/patient" ||
    die "the page on $p failed"
done

echo "| round | client | pages/s | p50 | p99 | errors (non-2xx, socket) |"
echo "|---|---|---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  for p in 3103 3104; do
    out=$(wrk -t 2 -c "$conns" -d "${secs}s" --latency -H "Cookie: ${cookies[$p]}" \
      "http://127.0.0.1:$p/patient")
    rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
    sock=$(awk '/Socket errors/ { print $0 }' <<<"$out")
    echo "| $r | ${names[$p]} | $rps | $p50 | $p99 | ${non2xx:-0}, ${sock:-none} |"
  done
done
# A degraded page is still a 200: count them in the portal's own view, once, after the runs.
for p in 3103 3104; do
  curl -s -H "Cookie: ${cookies[$p]}" "http://127.0.0.1:$p/patient" | grep -q 'data-banner="degraded"' &&
    echo "warning: ${names[$p]}'s page is degraded (see $work)" >&2 || true
done
