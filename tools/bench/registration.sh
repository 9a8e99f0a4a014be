#!/usr/bin/env bash
# Registration benchmarks (issue 2): streaming batch registration, idctl import, and single-create
# latency while another client streams. Starts its own node on 127.0.0.1 over a fresh data
# directory on disk (fsync is real), prints one line per figure.
# Usage: tools/bench/registration.sh BUILD_DIR [COUNT]
set -euo pipefail
build=${1:-build/release}
count=${2:-1000000}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/idnode-bench-XXXXXX")
trap 'kill $node_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$build/tools/idnode" --data-dir "$work/data" --listen 127.0.0.1:0 --handle-listen 127.0.0.1:0 \
  --ready-file "$work/ready" \
  --admin-token-file "$work/admin" --quiet --log-level warn ${IDNODE_BENCH_ARGS:-} &
node_pid=$!
for _ in $(seq 300); do [ -s "$work/ready" ] && break; sleep 0.1; done
port=$(sed -n 's/.*"grpc_port":\([0-9]*\).*/\1/p' "$work/ready")
export IDNODE_SERVER=127.0.0.1:$port
export IDNODE_TOKEN=$(cat "$work/admin")
idctl="$build/tools/idctl"
$idctl account create bench --role registrant >/dev/null
$idctl prefix allocate 88.123.45 --owner bench >/dev/null
token=$($idctl --json token issue bench | sed 's/.*"token":"\([^"]*\)".*/\1/')
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
