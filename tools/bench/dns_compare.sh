#!/usr/bin/env bash
# idnode next to the DNS servers it is compared with, under the same load from the same client in
# one run: idbench speaks Handle to idnode and DNS (--dns-zone) to Knot DNS and NSD. Each server
# holds COUNT names (idnode: identifiers of 3 values; Knot and NSD: A records in one zone), runs
# one UDP and one TCP worker (NSD: one server process) under ordinary scheduling pinned to core 0,
# and idbench runs on core 1, 90% hits. Rows per server: UDP at saturation, UDP open loop at half
# of that, TCP keep-alive pipelined, and TCP one request at a time with sleeping and with polling
# clients, and with sleeping clients under the ordinary scheduling policy (idbench's threads
# otherwise run SCHED_BATCH). Server CPU per answer is the server process's user + system time
# from /proc.
# Knot and NSD are Debian's `knot` and `nsd` packages, used only here and not installed by
# deploy/install-deps.sh; a server that is not installed is skipped, naming its package.
#
#   tools/bench/dns_compare.sh BUILD_DIR [COUNT] [SECONDS]
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [COUNT] [SECONDS]}
count=${2:-1000000}
seconds=${3:-10}
source "$(dirname "$0")/lib.sh"
bench_workdir

# A port that nothing on this machine listens on, over UDP or TCP.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    [ -z "$(ss -Htuln "sport = :$port")" ] && break
  done
  echo "$port"
}

# server_rows NAME ADDRESS [IDBENCH-ARGS...]: the rows for one server (common set by the caller).
server_rows() {
  local name=$1 address=$2
  shift 2
  echo "== $name"
  bench_row "$name: UDP saturation (4 x 64)" "" --udp "$address" --sockets 4 --window 64 "$@"
  local half=$((last_rate / 2))
  bench_row "$name: UDP open loop at $half/s" "" --udp "$address" --sockets 1 --rate "$half" "$@"
  bench_row "$name: TCP 4 conns x 16 pipelined" "" --tcp "$address" --sockets 4 --window 16 "$@"
  bench_row "$name: TCP 8 conns x 1" "" --tcp "$address" --sockets 8 --window 1 "$@"
  bench_row "$name: TCP 8 conns x 1, polling" "" --tcp "$address" --sockets 8 --window 1 --spin \
    "$@"
  bench_row "$name: TCP 8 conns x 1, SCHED_OTHER clients" "" --tcp "$address" --sockets 8 \
    --window 1 --sched other "$@"
}

# wait_for_zone ADDRESS: until the DNS server at ADDRESS answers b-0.bench (at most 120 s).
wait_for_zone() {
  for _ in $(seq 600); do
    if "$build/tools/idbench" --udp "$1" --dns-zone bench --name-base b- --count 1 --seconds 0.1 \
      --sockets 1 --window 1 2>/dev/null | grep -q "found 100.0%"; then
      return 0
    fi
    sleep 0.2
  done
  echo "dns_compare: the server at $1 did not answer b-0.bench" >&2
  return 1
}

# dns_rows NAME PID PORT: the rows for a DNS server that answers (wait_for_zone).
dns_rows() {
  local name=$1 pid=$2 port=$3
  common=(--name-base b- --dns-zone bench --count "$count" --server-pid "$pid"
    --seconds "$seconds" --miss-ratio 0.1)
  server_rows "$name" "127.0.0.1:$port"
}

stop() {
  kill "$@" 2>/dev/null || true
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  done
}

# idnode, as tools/bench/resolution.sh runs it but under ordinary scheduling, as the others run.
printf '[handle]\nudp_workers = 1\ntcp_workers = 1\n' >"$work/idnode.toml"
start_node "$build" "$work" taskset -c 0 -- --config "$work/idnode.toml"
register_identifiers "$build" "$count"
common=(--name-base 88.123.45/B- --count "$count" --server-pid "$node_pid" --seconds "$seconds"
  --miss-ratio 0.1)
server_rows "idnode" "127.0.0.1:$handle_port"
stop "$node_pid"

echo "== writing a zone of $count A records"
{
  printf '$ORIGIN bench.\n$TTL 3600\n@ SOA ns.bench. admin.bench. 1 3600 900 604800 300\n'
  printf '@ NS ns.bench.\nns A 127.0.0.1\n'
  awk -v n="$count" 'BEGIN { for (i = 0; i < n; i++)
    printf "b-%d A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256 }'
} >"$work/bench.zone"

if command -v knotd >/dev/null; then
  port=$(free_port)
  mkdir "$work/knot"
  cat >"$work/knot.conf" <<EOF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
log:
  - target: stderr
    any: warning
zone:
  - domain: bench.
    file: "$work/bench.zone"
    storage: "$work/knot"
    journal-content: none
    zonefile-sync: -1
EOF
  taskset -c 0 knotd -c "$work/knot.conf" &
  knot_pid=$!
  other_pids+=("$knot_pid")
  wait_for_zone "127.0.0.1:$port"
  dns_rows "Knot DNS $(knotd --version | sed -n 's/.*version \([0-9.]*\).*/\1/p')" "$knot_pid" "$port"
  stop "$knot_pid"
else
  echo "== Knot DNS skipped: knotd not found (Debian package knot)"
fi

if command -v nsd >/dev/null; then
  port=$(free_port)
  mkdir "$work/nsd"
  cat >"$work/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$work/nsd"
    database: ""
    zonelistfile: "$work/nsd/zone.list"
    xfrdfile: "$work/nsd/xfrd.state"
    pidfile: "$work/nsd/nsd.pid"
    logfile: "$work/nsd/nsd.log"
    verbosity: 0
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: bench
    zonefile: "$work/bench.zone"
EOF
  taskset -c 0 nsd -d -c "$work/nsd.conf" &
  other_pids+=("$!")
  wait_for_zone "127.0.0.1:$port"
  # NSD answers from a child process, "nsd: server 1"; its main and xfrd processes hold the port too.
  listeners=$(ss -Hlunp "sport = :$port")
  nsd_pids=($(grep -o 'pid=[0-9]*' <<<"$listeners" | cut -d= -f2 | sort -u))
  other_pids+=("${nsd_pids[@]}")
  server_pid=$(sed -n 's/.*"nsd: server 1",pid=\([0-9]*\).*/\1/p' <<<"$listeners")
  dns_rows "NSD $(nsd -v 2>&1 | sed -n 's/^NSD version \([0-9.]*\).*/\1/p')" "$server_pid" "$port"
  stop "${nsd_pids[@]}"
else
  echo "== NSD skipped: nsd not found (Debian package nsd)"
fi

print_rows "idnode (Handle) and DNS servers (A queries), same idbench load, $count names, server on core 0, idbench on core 1, 90% hits, ordinary scheduling"
