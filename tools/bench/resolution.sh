#!/usr/bin/env bash
# Resolution benchmark over the Handle protocol on UDP: registers COUNT identifiers of 3 values,
# then saturates one idnode UDP worker pinned to core 0 from idbench pinned to core 1, and once
# more at a fixed window for latency. Prints answered/s, latency and server CPU per answer.
#
#   tools/bench/resolution.sh BUILD_DIR [COUNT] [SECONDS]
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [COUNT] [SECONDS]}
count=${2:-1000000}
seconds=${3:-10}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/idnode-bench-XXXXXX")
trap 'kill $node_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

printf '[handle]\nudp_workers = 1\n' >"$work/idnode.toml"
source "$(dirname "$0")/lib.sh"
start_node "$build" "$work" taskset -c 0 -- --config "$work/idnode.toml"

echo "== registering $count identifiers (3 values each)"
taskset -c 1 "$build/tools/regbench" --server "$IDNODE_SERVER" --token "$token" --count "$count" \
  stream --batch 1000 --name-base 88.123.45/B-
idbench="taskset -c 1 $build/tools/idbench --udp 127.0.0.1:$handle_port --name-base 88.123.45/B-
  --count $count --server-pid $node_pid --seconds $seconds"
echo "== UDP saturation: 1 server worker on core 0, idbench on core 1, 90% hits"
$idbench --sockets 4 --window 64 --miss-ratio 0.1
echo "== UDP latency at a small window (1 socket, 8 in flight)"
$idbench --sockets 1 --window 8 --miss-ratio 0.1
