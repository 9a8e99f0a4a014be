# Shared by the benchmark scripts (source it): a work directory removed (and the node stopped) on
# exit; one idnode started over a fresh data directory on disk, with a registrant provisioned; the
# identifier set the resolution benchmarks draw from. Sets node_pid, grpc_port, handle_port, token, idctl and the
# IDNODE_SERVER / IDNODE_TOKEN (admin) environment; the caller's EXIT trap cleans up.
#
#   start_node BUILD_DIR WORK_DIR [LAUNCHER...] -- [IDNODE ARGS...]
start_node() {
  local build=$1 work=$2
  shift 2
  local launcher=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do launcher+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  "${launcher[@]}" "$build/tools/idnode" --data-dir "$work/data" --listen 127.0.0.1:0 \
    --handle-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --ready-file "$work/ready" --admin-token-file "$work/admin" \
    --quiet --log-level warn "$@" &
  node_pid=$!
  for _ in $(seq 300); do [ -s "$work/ready" ] && break; sleep 0.1; done
  grpc_port=$(sed -n 's/.*"grpc_port":\([0-9]*\).*/\1/p' "$work/ready")
  handle_port=$(sed -n 's/.*"handle_port":\([0-9]*\).*/\1/p' "$work/ready")
  export IDNODE_SERVER=127.0.0.1:$grpc_port
  export IDNODE_TOKEN=$(cat "$work/admin")
  idctl="$build/tools/idctl"
  $idctl account create bench --role registrant >/dev/null
  $idctl prefix allocate 88.123.45 --owner bench >/dev/null
  token=$($idctl --json token issue bench | sed 's/.*"token":"\([^"]*\)".*/\1/')
}

# Creates the work directory in $work; on exit, stops $node_pid and any pids in other_pids, and
# removes it.
other_pids=()
bench_workdir() {
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/idnode-bench-XXXXXX")
  trap 'kill ${node_pid:-} ${other_pids[*]} 2>/dev/null || true; wait 2>/dev/null || true
    rm -rf "$work"' EXIT
}

# register_identifiers BUILD_DIR COUNT: registers 88.123.45/B-0 .. B-(COUNT-1), 3 values each,
# from core 1, through the node start_node started.
register_identifiers() {
  echo "== registering $2 identifiers (3 values each)"
  taskset -c 1 "$1/tools/regbench" --server "$IDNODE_SERVER" --token "$token" --count "$2" \
    stream --batch 1000 --name-base 88.123.45/B-
}

# bench_row LABEL TARGET IDBENCH-ARGS...: runs $build/tools/idbench on core 1 with the arguments
# in the array `common` and then IDBENCH-ARGS, prints its line, appends a row to the array `rows`
# and sets last_rate (answers/s).
rows=()
# table_line RUN ANSWERS/S P50 P99 P99.9 CPU TARGET: one line of the table.
table_line() {
  printf '| %-52s | %9s | %6s | %6s | %8s | %13s | %-22s |\n' "$@"
}

bench_row() {
  local label=$1 target=$2
  shift 2
  local line
  line=$(taskset -c 1 "$build/tools/idbench" "${common[@]}" "$@")
  echo "$line"
  local rate p50 p99 p999 cpu
  rate=$(sed -n 's/.* = \([0-9]*\)\/s .*/\1/p' <<<"$line")
  p50=$(sed -n 's/.*p50 \([0-9]*\) us.*/\1/p' <<<"$line")
  p99=$(sed -n 's/.*p50 [0-9]* us, p99 \([0-9]*\) us.*/\1/p' <<<"$line")
  p999=$(sed -n 's/.*p50 [0-9]* us, p99 [0-9]* us, p99.9 \([0-9]*\) us.*/\1/p' <<<"$line")
  cpu=$(sed -n 's/.*server CPU \([0-9.]*\) us per answer.*/\1/p' <<<"$line")
  rows+=("$(table_line "$label" "$rate" "$p50" "$p99" "$p999" "$cpu" "$target")")
  last_rate=$rate
}

# print_rows TITLE: the table of the rows bench_row collected.
print_rows() {
  echo
  echo "$1"
  table_line "run" "answers/s" "p50 us" "p99 us" "p99.9 us" "CPU us/answer" "target"
  table_line "" "" "" "" "" "" "" | tr ' ' -
  printf '%s\n' "${rows[@]}"
}
