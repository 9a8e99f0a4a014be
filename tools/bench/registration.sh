#!/usr/bin/env bash
# Registration benchmarks (issue 2): streaming batch registration, idctl import, and single-create
# latency while another client streams. Starts its own node on 127.0.0.1 over a fresh data
# directory on disk (fsync is real), prints one line per figure.
# Usage: tools/bench/registration.sh BUILD_DIR [COUNT]
set -euo pipefail
build=${1:-build/release}
count=${2:-1000000}
source "$(dirname "$0")/lib.sh"
bench_workdir
# shellcheck disable=SC2086
start_node "$build" "$work" -- ${IDNODE_BENCH_ARGS:-}
bench="$build/tools/regbench --server $IDNODE_SERVER --token $token --count"

echo "== streaming batch registration: $count identifiers, 3 values, batches of 1000"
$bench "$count" stream --batch 1000
echo "== idctl import of $count JSON Lines"
$bench "$count" jsonl --out "$work/import.jsonl"
IDNODE_TOKEN=$token /usr/bin/time -f "import wall %e s, idctl CPU %U+%S s" \
  $idctl import "$work/import.jsonl" | head -1
echo "== single create latency while another client streams batches"
$bench 2000 latency --with-stream
echo "== single create latency, idle node"
$bench 2000 latency
echo "store size: $(du -sh "$work/data" | cut -f1)"
