#!/usr/bin/env bash
# What counting costs the resolver (issue: at most 3% more server CPU per answered UDP
# resolution with the resolution counts flushed than without). Registers COUNT identifiers once,
# then alternates ROUNDS times between a node that flushes every 100 ms (twenty times more often
# than the default) and one whose flush never comes during the run (10 minutes), each driven at
# UDP saturation by idbench. idnode on core 0 (one UDP worker), idbench on core 1.
#
#   tools/bench/stats_overhead.sh BUILD_DIR [COUNT] [SECONDS] [ROUNDS]
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [COUNT] [SECONDS] [ROUNDS]}
count=${2:-1000000}
seconds=${3:-10}
rounds=${4:-3}
source "$(dirname "$0")/lib.sh"
bench_workdir
printf '[handle]\nudp_workers = 1\ntcp_workers = 1\n' >"$work/idnode.toml"
start_node "$build" "$work" taskset -c 0 -- --config "$work/idnode.toml"
register_identifiers "$build" "$count" >/dev/null
kill -TERM "$node_pid"
wait "$node_pid" || true

# serve FLUSH_MS: starts idnode over the same data with that flush interval; sets node_pid and
# handle_port.
serve() {
  printf '[handle]\nudp_workers = 1\ntcp_workers = 1\n[stats]\nflush_interval_ms = %s\n' "$1" \
    >"$work/idnode.toml"
  rm -f "$work/ready"
  taskset -c 0 "$build/tools/idnode" --data-dir "$work/data" --listen 127.0.0.1:0 \
    --handle-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --ready-file "$work/ready" --quiet --log-level warn \
    --config "$work/idnode.toml" &
  node_pid=$!
  for _ in $(seq 300); do [ -s "$work/ready" ] && break; sleep 0.1; done
  handle_port=$(sed -n 's/.*"handle_port":\([0-9]*\).*/\1/p' "$work/ready")
}

declare -A cpu_sum
for round in $(seq "$rounds"); do
  for flush in 100 600000; do
    serve "$flush"
    line=$(taskset -c 1 "$build/tools/idbench" --udp "127.0.0.1:$handle_port" --sockets 4 \
      --window 64 --name-base 88.123.45/B- --count "$count" --miss-ratio 0.1 \
      --seconds "$seconds" --server-pid "$node_pid")
    kill -TERM "$node_pid"
    wait "$node_pid" || true
    cpu=$(sed -n 's/.*server CPU \([0-9.]*\) us per answer.*/\1/p' <<<"$line")
    echo "round $round, flush every $flush ms: $line"
    cpu_sum[$flush]=$(awk -v a="${cpu_sum[$flush]:-0}" -v b="$cpu" 'BEGIN { print a + b }')
  done
done
awk -v on="${cpu_sum[100]}" -v off="${cpu_sum[600000]}" -v n="$rounds" 'BEGIN {
  printf "server CPU per answer, mean of %d rounds: flushing every 100 ms %.3f us, not flushing %.3f us: %+.1f%%\n",
    n, on / n, off / n, (on / off - 1) * 100 }'
