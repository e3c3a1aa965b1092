#!/usr/bin/env bash
# Measures Zeppelin's local networking with wrk, side by side with nginx, in one run:
# requests/s and p99 latency straight to one replica, through the balancer (TCP), through
# the gateway (HTTP routes) and through nginx set up as the equivalent reverse proxy to the
# same two replicas. Prints the figures as a BENCHMARKS.md section and keeps a copy in
# target/net-benchmarks.md (or $OUT).
#
# Needs wrk and nginx (Debian: apt-get install -y wrk nginx). Loopback only.
# Settings: DURATION (default 10s), CONNECTIONS (64), THREADS (2), ROUNDS (3): each row is
# measured ROUNDS times, the rows taking turns, and the median round is reported, so a
# burst of load from elsewhere on the machine does not decide the comparison.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/target/net-benchmarks.md}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
host=bench.localhost

for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "net.sh: $tool is missing; apt-get install -y wrk nginx" >&2; exit 1; }
done

echo "building the bench binary (release)..." >&2
cargo build --quiet --release --example net_bench -p zeppelin-local --manifest-path "$root/Cargo.toml"
bin=$root/target/release/examples/net_bench

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Free ports, asked of the kernel rather than guessed.
read -r replica1 replica2 balancer gateway nginx_port < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)

"$bin" backends "$replica1" "$replica2" & pids+=($!); backends_pid=$!
"$bin" proxy "$balancer" "$gateway" "$host" "$replica1" "$replica2" & pids+=($!); proxy_pid=$!

mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<NGINX
worker_processes auto;
error_log $work/logs/error.log warn;
pid $work/nginx.pid;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  upstream bench {
    server 127.0.0.1:$replica1;
    server 127.0.0.1:$replica2;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    server_name $host;
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!); nginx_pid=$!

for port in "$replica1" "$replica2" "$balancer" "$gateway" "$nginx_port"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done

# CPU time (in clock ticks) used so far by the given processes and all their threads.
cpu_ticks() {
  local total=0 stat
  for pid in "$@"; do
    for stat in /proc/"$pid"/task/*/stat; do
      total=$((total + $(awk '{ print $14 + $15 }' "$stat")))
    done
  done
  echo "$total"
}
tick_us=$((1000000 / $(getconf CLK_TCK)))

# Prints "requests/s p99 cpu-µs-per-request" for one wrk run; the CPU is that of the
# processes serving that row (the replica for the direct row, else the proxy).
measure() {
  local url=$1; shift
  local before after
  before=$(cpu_ticks "$@")
  wrk -t"$threads" -c"$connections" -d"$duration" --latency -H "Host: $host" "$url" > "$work/wrk.txt"
  after=$(cpu_ticks "$@")
  if grep -q "Non-2xx" "$work/wrk.txt"; then
    echo "net.sh: $url answered errors:" >&2; cat "$work/wrk.txt" >&2; exit 1
  fi
  local rps p99 requests
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  echo "$rps $p99 $(awk -v t=$((after - before)) -v us="$tick_us" -v n="$requests" 'BEGIN { printf "%.1f", t * us / n }')"
}

load_before=$(cut -d' ' -f1 /proc/loadavg)
targets=(direct balancer gateway nginx)
declare -A urls=(
  [direct]="http://127.0.0.1:$replica1/"
  [balancer]="http://127.0.0.1:$balancer/"
  [gateway]="http://127.0.0.1:$gateway/"
  [nginx]="http://127.0.0.1:$nginx_port/"
)
declare -A serving=(
  [direct]="$backends_pid"
  [balancer]="$proxy_pid"
  [gateway]="$proxy_pid"
  [nginx]="$(pgrep -P "$nginx_pid" | tr '\n' ' ')"
)
wrk -t1 -c8 -d2s "${urls[gateway]}" -H "Host: $host" >/dev/null   # warm-up
for round in $(seq "$rounds"); do
  for target in "${targets[@]}"; do
    echo "round $round/$rounds: $target..." >&2
    # shellcheck disable=SC2086 # a list of pids
    measure "${urls[$target]}" ${serving[$target]} >> "$work/$target.runs"
  done
done

# The median round by requests/s, with its p99.
declare -A rps p99 cpu
for target in "${targets[@]}"; do
  read -r rps[$target] p99[$target] cpu[$target] < <(sort -n "$work/$target.runs" | awk '{ row[NR] = $0 } END { print row[int((NR + 1) / 2)] }')
done

ratio=$(awk -v g="${rps[gateway]}" -v n="${rps[nginx]}" 'BEGIN { printf "%.0f", 100 * g / n }')
cpu_ratio=$(awk -v g="${cpu[gateway]}" -v n="${cpu[nginx]}" 'BEGIN { printf "%.0f", 100 * g / n }')
{
  echo "## Local networking: balancer and gateway"
  echo
  echo "Measured by \`bench/net.sh\` on $(date -u +%Y-%m-%d), $(nproc) CPUs ($(uname -m)), loopback;"
  echo "wrk $threads threads, $connections connections, $duration per run, median of $rounds runs per row"
  echo "(rows take turns), HTTP/1.1 keep-alive, a"
  echo "13-byte answer from two replicas (one for the direct row). nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')"
  echo "proxies to the same replicas with upstream keep-alive and the same X-Forwarded headers."
  echo "wrk, the proxies and the replicas share the machine's CPUs, so the figures compare the"
  echo "rows with each other rather than measure a ceiling (load average when the run started:"
  echo "$load_before). CPU per request is the CPU time the"
  echo "serving process used during the run divided by the requests served: it depends less on"
  echo "what else the machine was doing than requests/s does."
  echo
  echo "| path | requests/s | p99 latency | CPU per request |"
  echo "|---|---:|---:|---:|"
  echo "| straight to one replica | ${rps[direct]} | ${p99[direct]} | ${cpu[direct]} µs (replica) |"
  echo "| through the balancer (TCP) | ${rps[balancer]} | ${p99[balancer]} | ${cpu[balancer]} µs (balancer) |"
  echo "| through the gateway (HTTP) | ${rps[gateway]} | ${p99[gateway]} | ${cpu[gateway]} µs (gateway) |"
  echo "| through nginx (reverse proxy) | ${rps[nginx]} | ${p99[nginx]} | ${cpu[nginx]} µs (nginx) |"
  echo
  echo "The gateway reaches ${ratio}% of nginx's throughput (target: at least 80%, p99 within 1 ms)"
  echo "and spends ${cpu_ratio}% of nginx's CPU time per request."
} > "$out"
cat "$out"
