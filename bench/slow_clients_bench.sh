#!/usr/bin/env bash
# Does a slowloris and a flood of half-open connections hurt medgate's ordinary traffic?
# Runs wrk against medgate (auth off, test upstream) quiet, then while bench/slow_clients.py
# holds SLOW slowloris and IDLE half-open connections, and compares the p99 latencies.
# Loopback only; every loop bounded. Not a timed test: a measurement, see docs/performance.md.
# Usage: bench/slow_clients_bench.sh [SLOW=1000] [IDLE=1000] [SECONDS=20]
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
slow=${1:-1000}; idle=${2:-1000}; secs=${3:-16}

ensure_packages "${MEDGATE_BUILD_PACKAGES[@]}" wrk python3
build_preset release >/dev/null
bin="$MEDGATE_ROOT/build/release/apps"
work=$(mktemp -d /tmp/medgate-slow.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
up=$(port); gw=$(port)
# Load generators on core 0, medgate and its upstream on core 1 (when there are two), so the
# figures are medgate's and not the attacker's own CPU use.
pin_load=() pin_server=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_load=(taskset -c 0) pin_server=(taskset -c 1)
fi
"${pin_server[@]}" "$bin/test-upstream" --port "$up" --name bench >"$work/up.log" 2>&1 & pids+=($!)
cat >"$work/medgate.yaml" <<YAML
listen: { address: 127.0.0.1, port: $gw }
auth: { enabled: false }
threads: 2
access_log: { enabled: false }
# The shipped defaults but a shorter header timeout: a header must be complete within it.
limits: { header_timeout: 5s, max_connections: 10000 }
upstreams:
  bench:
    endpoints: [ "http://127.0.0.1:$up" ]
routes:
  - { prefix: /, upstream: bench }
YAML
"${pin_server[@]}" "$bin/medgate" --config "$work/medgate.yaml" >"$work/medgate.log" 2>&1 & pids+=($!)
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$gw/ok" 2>/dev/null && break; sleep 0.1; done

measure() {  # label
  local out
  out=$(timeout 30 "${pin_load[@]}" wrk -t1 -c20 -d10s --latency "http://127.0.0.1:$gw/ok")
  printf '%-22s rps %8s  p50 %8s  p99 %8s  errors %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
    "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(grep -o 'Socket errors.*' <<<"$out" || echo none)"
}
measure "quiet"
"${pin_load[@]}" python3 "$MEDGATE_ROOT/bench/slow_clients.py" "$gw" "$slow" "$idle" "$secs" \
  >"$work/attack.txt" &
attacker=$!
pids+=("$attacker")
sleep 2
measure "under $slow slow + $idle idle"
wait "$attacker" || true
cat "$work/attack.txt"
measure "after"
echo "(wrk -t1 -c20 -d10s; medgate 2 threads, header_timeout 5s; ${pin_load[*]:-unpinned} load, ${pin_server[*]:-unpinned} servers)"
