#!/usr/bin/env bash
# Many patients at once, as the shipped stack serves them (bench/portal_bench.sh --patients):
# N distinct patients signed in to one portal, each loading their page (GET /patient: one
# medgate call, one database read) in turn through the stack's two medgate instances with
# the shipped configuration (per-patient rate limit included). Prints pages/s, latency, how
# many pages came back degraded, and the CPU each component of the stack spent per page
# (bench/stack_cpu.py: the load window less an idle window's rate).
# On the running local stack (scripts/run). The patients (RUTs 50000001.. with their check
# digit) are made once through medgate's API, with a record, two payments and two
# consultations each, as the demo patient has. A portal of its own on port 3105, on the
# stack's database and configuration, signs them in (its sign-in limits raised for the
# bench's one address; its accounts are the bench patients).
# Usage: bench/portal_patients.sh [patients=20] [seconds=10] [connections=20] [rounds=2]
# MEDGATE_BENCH_PROFILE=FILE: also records a system-wide perf profile of each load window
# (FILE.ROUND; needs perf, linux-perf).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
patients=${1:-20}; secs=${2:-10}; conns=${3:-20}; rounds=${4:-2}
if [ "$patients" -lt 1 ] || [ "$patients" -gt 500 ]; then die "patients: 1 to 500"; fi
STACK_DIR=${MEDGATE_STACK_DIR:-/var/tmp/medgate-stack}
[ -f "$STACK_DIR/credentials.env" ] || die "no local stack in $STACK_DIR (scripts/run)"
ensure_packages wrk python3
[ -z "${MEDGATE_BENCH_PROFILE:-}" ] || ensure_packages linux-perf
bin="$MEDGATE_ROOT/build/default/apps"
cpu="$MEDGATE_ROOT/bench/stack_cpu.py"
work=$(mktemp -d /tmp/medgate-portal-patients.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
set -a; source "$STACK_DIR/credentials.env"; set +a
export MEDGATE_STACK_DIR="$STACK_DIR"
MW=http://127.0.0.1:8000
PORT=3105

rut_of() {  # number -> RUT with its check digit (modulo 11)
  local n=$1 sum=0 mul=2 d
  for ((i = ${#n} - 1; i >= 0; i--)); do
    sum=$((sum + ${n:i:1} * mul)); mul=$((mul == 7 ? 2 : mul + 1))
  done
  d=$((11 - sum % 11))
  case $d in 11) d=0 ;; 10) d=K ;; esac
  echo "$n-$d"
}
ruts=()
for i in $(seq 1 "$patients"); do ruts+=("$(rut_of $((50000000 + i)))"); done

post() {  # token path body key: prints the status; waits out the per-caller limit (429)
  local status tries=0
  while :; do
    status=$(curl -s -o "$work/post.out" -w '%{http_code}' --max-time 10 -X POST "$MW$2" \
      -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
      -H "Idempotency-Key: $4" --data "$3")
    [ "$status" = 429 ] && [ $((tries += 1)) -lt 20 ] || break
    sleep 1
  done
  echo "$status"
}
made=0
for i in "${!ruts[@]}"; do
  rut=${ruts[$i]}
  sleep 0.2  # the staff token's per-caller limit: 20 calls a second
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -H "Authorization: Bearer $MEDGATE_STAFF_TOKEN" "$MW/api/admin/patients/$rut")
  [ "$status" = 404 ] || { [ "$status" = 200 ] && continue; die "GET patient $rut: $status"; }
  s=$(post "$MEDGATE_STAFF_TOKEN" /api/admin/patients \
    "{\"rut\":\"$rut\",\"name\":\"Paciente de carga $((i + 1))\",\"birth_date\":\"1985-05-05\",\"insurance\":\"FONASA\"}" \
    "bench-patient-$rut")
  [ "$s" = 201 ] || [ "$s" = 200 ] || die "creating patient $rut: $s $(cat "$work/post.out")"
  for n in 1 2; do
    s=$(post "$MEDGATE_STAFF_TOKEN" /api/admin/payments \
      "{\"rut\":\"$rut\",\"amount\":$((n * 12500)),\"concept\":\"Consulta médica $n\"}" "bench-pay-$rut-$n")
    [ "$s" = 201 ] || [ "$s" = 200 ] || die "payment for $rut: $s $(cat "$work/post.out")"
    s=$(post "$MEDGATE_DOCTOR_TOKEN" /api/medical/consultations \
      "{\"patient_rut\":\"$rut\",\"date\":\"2026-0$((n + 2))-1$n\",\"diagnosis\":\"Control de salud $n\",\"treatment\":\"Sin indicaciones\"}" \
      "bench-consultation-$rut-$n")
    [ "$s" = 201 ] || [ "$s" = 200 ] || die "consultation for $rut: $s $(cat "$work/post.out")"
  done
  made=$((made + 1))
done
[ "$made" -eq 0 ] || log "made $made bench patients"

list=$(IFS=,; echo "${ruts[*]}")
sed -e "s/ruts: \[[^]]*\]/ruts: [ ${list//,/, } ]/" \
  -e 's/attempts_per_second: [0-9.]*, attempts_burst: [0-9]*/attempts_per_second: 1000, attempts_burst: 1000/' \
  "$MEDGATE_ROOT/config/patient-portal.example.yaml" >"$work/portal.yaml"
grep -q "${ruts[0]}" "$work/portal.yaml" || die "the portal's demo_accounts line was not where expected"
PORTAL_PORT=$PORT "$bin/patient-portal/patient-portal" --config "$work/portal.yaml" \
  >"$work/portal.log" 2>&1 & pids+=($!)
for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" || { tail -5 "$work/portal.log"; die "the bench portal does not answer"; }

printf 'cookies = {\n' >"$work/load.lua"
for rut in "${ruts[@]}"; do
  c=$(curl -s -o /dev/null -D - -H "Origin: http://127.0.0.1:$PORT" \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "rut=$rut&password=$MEDGATE_DEMO_PATIENT_PASSWORD" "http://127.0.0.1:$PORT/login" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "set-cookie" { split($2, a, ";"); print a[1] }')
  [ -n "$c" ] || die "sign-in of $rut failed"
  printf '  "%s",\n' "$c" >>"$work/load.lua"
done
# Each connection takes the next patient in turn; a page with a degraded banner is counted.
cat >>"$work/load.lua" <<'LUA'
}
local counter = 0
degraded = 0  -- global: done() reads it from each thread
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counter = math.random(#cookies) end
function request()
  counter = counter % #cookies + 1
  return wrk.format("GET", "/patient", { ["Cookie"] = cookies[counter] })
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, 'data-banner="degraded"', 1, true) then
    degraded = degraded + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("degraded") end
  io.write(string.format("degraded %d\n", total))
end
LUA

echo "$patients patients, wrk -t2 -c$conns -d${secs}s, GET /patient on the bench portal; medgate on 8000 and 8001 (shipped configuration)"
for r in $(seq 1 "$rounds"); do
  python3 "$cpu" snapshot "$work/idle-a.json"
  sleep "$secs"
  python3 "$cpu" snapshot "$work/idle-b.json"
  python3 "$cpu" snapshot "$work/load-a.json"
  if [ -n "${MEDGATE_BENCH_PROFILE:-}" ]; then  # a system-wide perf profile of the load window
    perf record -q -e cpu-clock -F 499 -a -g -o "$MEDGATE_BENCH_PROFILE.$r" -- sleep "$secs" \
      >/dev/null 2>&1 &
  fi
  out=$(wrk -t 2 -c "$conns" -d "${secs}s" --latency -s "$work/load.lua" "http://127.0.0.1:$PORT/patient")
  python3 "$cpu" snapshot "$work/load-b.json"
  pages=$(awk '/requests in/ { print $1 }' <<<"$out")
  echo
  echo "round $r: $(awk '/Requests\/sec/ { print $2 }' <<<"$out") pages/s, p50 $(awk '$1 == "50%" { print $2 }' <<<"$out"), p99 $(awk '$1 == "99%" { print $2 }' <<<"$out"), $pages pages, degraded $(awk '/^degraded/ { print $2 }' <<<"$out"), $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ')"
  echo
  python3 "$cpu" diff "$work/idle-a.json" "$work/idle-b.json" "$work/load-a.json" "$work/load-b.json" "$pages"
done
