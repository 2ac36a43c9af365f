#!/usr/bin/env bash
# Side-by-side HTTP benchmark on loopback: direct upstream, medgate, nginx, HAProxy.
# Usage: bench/http_bench.sh [rounds=3] [seconds=5] [connections=50] [wrk_threads=2]
# Needs: wrk nginx haproxy (installs them if missing) and the release build.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
rounds=${1:-3}; secs=${2:-5}; conns=${3:-50}; wrk_threads=${4:-2}

ensure_packages "${MEDGATE_BUILD_PACKAGES[@]}" wrk nginx haproxy
build_preset release >/dev/null
bin="$MEDGATE_ROOT/build/release/apps"
work=$(mktemp -d /tmp/medgate-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
up=$(port); gw=$(port); ng=$(port); hp=$(port); ga=$(port)

"$bin/test-upstream" --port "$up" --name bench >"$work/up.log" 2>&1 & pids+=($!); up_pid=$!
cat >"$work/medgate.yaml" <<YAML
# Every policy of the chain on, with limits the load never reaches: the cost of checking
# them is measured, not the cost of refusing.
listen: { address: 127.0.0.1, port: $gw }
# The proxy path's cost, compared with proxies that check no tokens either.
auth: { enabled: false }
threads: 2
access_log: { enabled: false }
upstreams:
  bench:
    endpoints: [ "http://127.0.0.1:$up" ]
    timeout: 2s
    per_try_timeout: 1s
    max_concurrent: 10000
    rate_limit: { rate: 10000000, burst: 10000000 }
    retry: { attempts: 2, backoff: 10ms, budget: 0.2 }
    breaker: { consecutive_failures: 5, failure_rate: 0.5, window: 20, min_calls: 10, open_for: 10s }
    endpoint_breaker: { consecutive_failures: 5, open_for: 10s }
    outlier: { consecutive_failures: 5 }
    health_check: { enabled: true, path: /health, interval: 1s }
routes:
  - { prefix: /, upstream: bench }
YAML
"$bin/medgate" --config "$work/medgate.yaml" >"$work/medgate.log" 2>&1 & pids+=($!); gw_pid=$!
# The same with authentication on: every request carries a bearer token that is verified
# (ES256, then the per-thread cache) and checked against an access rule.
mkdir -p "$work/keys"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/bench.key.pem" 2>/dev/null
openssl pkey -in "$work/bench.key.pem" -pubout -out "$work/keys/bench.pub.pem"
token=$("$bin/medgate-token" --key "$work/bench.key.pem" --kid bench --issuer bench \
  --audience medgate --subject bench-tool --roles service --ttl 1h)
sed -e "s/port: $gw }/port: $ga }/" \
  -e "s|^auth: { enabled: false }|auth: { audience: medgate, key_dir: $work/keys, grants: [ { kid: bench, issuer: bench, roles: [ service ] } ], rules: [ { path: \"/**\", roles: [ service ] } ] }\naudit_log: { path: $work/audit.jsonl }|" \
  "$work/medgate.yaml" >"$work/medgate-auth.yaml"
"$bin/medgate" --config "$work/medgate-auth.yaml" >"$work/medgate-auth.log" 2>&1 & pids+=($!); ga_pid=$!
cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream u { server 127.0.0.1:$up; keepalive 64; }
  server {
    listen 127.0.0.1:$ng;
    location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' >"$work/nginx.log" 2>&1 & pids+=($!); ng_pid=$!
cat >"$work/haproxy.cfg" <<HAP
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:$hp
  default_backend b
backend b
  server s1 127.0.0.1:$up
HAP
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pids+=($!); hp_pid=$!
sleep 1

cpu_ticks() {  # utime+stime of a process and its children threads, in clock ticks
  local total=0 f
  for f in /proc/"$1"/task/*/stat; do
    total=$((total + $(awk '{print $14 + $15}' "$f")))
  done
  # nginx workers are children of the master
  for c in $(pgrep -P "$1" 2>/dev/null); do
    for f in /proc/"$c"/task/*/stat; do total=$((total + $(awk '{print $14 + $15}' "$f"))); done
  done
  echo "$total"
}

declare -A rps p50 p99 cpu
targets=("direct:$up:$up_pid" "medgate:$gw:$gw_pid" "medgate+auth:$ga:$ga_pid" "nginx:$ng:$ng_pid"
  "haproxy:$hp:$hp_pid")
hz=$(getconf CLK_TCK)
for r in $(seq 1 "$rounds"); do
  for t in "${targets[@]}"; do
    IFS=: read -r name p pid <<<"$t"
    before=$(cpu_ticks "$pid")
    auth=()
    [ "$name" = medgate+auth ] && auth=(-H "Authorization: Bearer $token")
    out=$(timeout $((secs + 10)) wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" --latency "${auth[@]}" \
      "http://127.0.0.1:$p/ok")
    after=$(cpu_ticks "$pid")
    req=$(awk '/requests in/ {print $1}' <<<"$out")
    rps[$name]+="$(awk '/Requests\/sec/ {print $2}' <<<"$out") "
    p50[$name]+="$(awk '$1=="50%" {print $2}' <<<"$out") "
    p99[$name]+="$(awk '$1=="99%" {print $2}' <<<"$out") "
    cpu[$name]+="$(awk -v t=$((after - before)) -v hz="$hz" -v n="$req" 'BEGIN{printf "%.1f", t*1e6/hz/n}') "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
printf '%-13s %10s %10s %10s %14s\n' proxy rps p50 p99 "cpu_us/req"
for t in "${targets[@]}"; do
  name=${t%%:*}
  printf '%-13s %10s %10s %10s %14s\n' "$name" "$(median <<<"${rps[$name]}")" \
    "$(median <<<"${p50[$name]}")" "$(median <<<"${p99[$name]}")" "$(median <<<"${cpu[$name]}")"
done
echo "(wrk -t$wrk_threads -c$conns -d${secs}s, $rounds interleaved rounds, medians; cpu of the proxy process only)"
