#!/usr/bin/env bash
# Resolution benchmarks: registers COUNT identifiers of 3 values, then drives one idnode pinned
# to core 0 (one UDP worker, one TCP worker) from idbench pinned to core 1, 90% hits:
#   UDP closed loop at saturation; UDP open loop at half of that rate (latency under load), with
#   the UDP worker under ordinary scheduling and under handle.realtime_priority; Handle TCP
#   keep-alive (pipelined window, and one request at a time with sleeping and with polling
#   clients, and with sleeping clients under the ordinary scheduling policy); unary gRPC Resolve.
# idbench's threads run SCHED_BATCH unless a row says otherwise.
# The node runs with handle.realtime_priority = 10 when this shell may use SCHED_FIFO (root,
# CAP_SYS_NICE or RLIMIT_RTPRIO), and without it (one open-loop row only) otherwise.
# Prints each idbench line, then one table with answered/s, latency and server CPU per answer
# (user + system of the whole idnode process, from /proc: gRPC and writer threads included).
#
#   tools/bench/resolution.sh BUILD_DIR [COUNT] [SECONDS]
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [COUNT] [SECONDS]}
count=${2:-1000000}
seconds=${3:-10}
source "$(dirname "$0")/lib.sh"
bench_workdir
realtime=0
if chrt -f 10 true 2>/dev/null; then realtime=10; fi
printf '[handle]\nudp_workers = 1\ntcp_workers = 1\nrealtime_priority = %d\n' "$realtime" \
  >"$work/idnode.toml"
start_node "$build" "$work" taskset -c 0 -- --config "$work/idnode.toml"

register_identifiers "$build" "$count"

common=(--name-base 88.123.45/B- --count "$count" --server-pid "$node_pid" --seconds "$seconds"
  --miss-ratio 0.1)
echo "== UDP, closed loop at saturation (4 sockets x 64 in flight)"
bench_row "UDP saturation (closed loop)" "<= 4 us, >= 200k/s" --udp "127.0.0.1:$handle_port" \
  --sockets 4 --window 64
half=$((last_rate / 2))
# The UDP worker's thread, by the name the node gives it, to run one row under ordinary scheduling.
udp_tid=$(grep -lx handle-udp-0 /proc/"$node_pid"/task/*/comm | cut -d/ -f5)
if [ "$realtime" -gt 0 ]; then
  chrt -o -p 0 "$udp_tid"
  echo "== UDP, open loop at half of saturation ($half/s), worker under ordinary scheduling"
  bench_row "UDP open loop at $half/s, SCHED_OTHER" "p99 < 1000 us" --udp "127.0.0.1:$handle_port" \
    --sockets 1 --rate "$half"
  chrt -f -p "$realtime" "$udp_tid"
  echo "== UDP, open loop at half of saturation ($half/s), realtime_priority = $realtime"
  bench_row "UDP open loop at $half/s, realtime" "p99 < 1000 us" --udp "127.0.0.1:$handle_port" \
    --sockets 1 --rate "$half"
else
  echo "== UDP, open loop at half of saturation ($half/s) (no SCHED_FIFO for this shell)"
  bench_row "UDP open loop at $half/s" "p99 < 1000 us" --udp "127.0.0.1:$handle_port" --sockets 1 \
    --rate "$half"
fi
echo "== Handle TCP keep-alive, 4 connections x 16 pipelined"
bench_row "TCP keep-alive, 4 conns x 16 pipelined" "<= 8 us" --tcp "127.0.0.1:$handle_port" \
  --sockets 4 --window 16
echo "== Handle TCP keep-alive, 8 connections, one request at a time"
bench_row "TCP keep-alive, 8 conns x 1" "<= 8 us" --tcp "127.0.0.1:$handle_port" --sockets 8 --window 1
# idbench's threads run SCHED_BATCH. Under the ordinary policy a woken client preempts another on
# core 1, and the server's send pays for the rescheduling interrupt to that core (see README).
echo "== Handle TCP keep-alive, 8 connections, one request at a time, SCHED_OTHER clients"
bench_row "TCP keep-alive, 8 conns x 1, SCHED_OTHER clients" "reported" \
  --tcp "127.0.0.1:$handle_port" --sockets 8 --window 1 --sched other
# On loopback the sender runs the receiver's TCP input, including waking a sleeping client: the
# same run with clients that poll instead of sleeping shows the server's cost without that wake-up.
echo "== Handle TCP keep-alive, 8 connections, one request at a time, polling clients"
bench_row "TCP keep-alive, 8 conns x 1, polling" "<= 8 us" --tcp "127.0.0.1:$handle_port" --sockets 8 \
  --window 1 --spin
echo "== gRPC unary Resolve, 16 threads"
bench_row "gRPC unary Resolve, 16 threads" "<= 20 us" --grpc "$IDNODE_SERVER" --sockets 16

print_rows "Resolution, $count identifiers x 3 values, idnode on core 0, idbench on core 1, 90% hits, handle.realtime_priority = $realtime"
