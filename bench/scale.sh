#!/usr/bin/env bash
# Many idle branches at once: memory (PSS of every Postgres process, per branch
# and in total) with 50 and then 100 branches running, and how long
# `pgd status` (with and without sizes) and `pgd branch list` take.
# Usage: sudo bash bench/scale.sh [path/to/pgd]
# Env: BENCH_COUNTS (default "50 100"), BENCH_REPORT=FILE appends a Markdown section,
#      BENCH_JSON=FILE writes the figures as JSON.
COUNTS=${BENCH_COUNTS:-"50 100"}
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"

# PSS (KiB) of all processes of the branches' postmasters and their children.
pss_kib() {
  local total=0 pm pid
  for f in "$MNT"/*/*/postmaster.pid; do
    pm=$(head -n1 "$f")
    for pid in $pm $(ps -o pid= --ppid "$pm"); do
      total=$(( total + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0) ))
    done
  done
  echo "$total"
}

bench_project 20G scale
made=1
rows=()
json_rows=()
for count in $COUNTS; do
  while [ "$made" -lt "$count" ]; do
    "$PGD" branch create "scale/b$made" >/dev/null
    made=$((made + 1))
  done
  sleep 2  # let start-up work settle
  pss=$(pss_kib)
  t0=$(now_ms); "$PGD" status >/dev/null; status_ms=$(( $(now_ms) - t0 ))
  t0=$(now_ms); "$PGD" status --no-size >/dev/null; nosize_ms=$(( $(now_ms) - t0 ))
  t0=$(now_ms); "$PGD" branch list --json >/dev/null; list_ms=$(( $(now_ms) - t0 ))
  rows+=("$(printf "%8d %14d %12d %10d %18d %10d" "$count" "$((pss / 1024))" "$((pss / count))" "$status_ms" "$nosize_ms" "$list_ms")")
  json_rows+=("$(json_obj branches "$count" total_pss_kib "$pss" status_ms "$status_ms" \
    status_no_size_ms "$nosize_ms" list_ms "$list_ms")")
done
if [ -n "${BENCH_JSON:-}" ]; then
  printf '%s\n' "${json_rows[@]}" | bench_json "$BENCH_JSON" .
fi

report() {
  machine
  printf "%8s %14s %12s %10s %18s %10s\n" "branches" "total PSS MiB" "per branch KiB" "status ms" "status --no-size ms" "list ms"
  echo "# status reads every branch's exclusive size (one 'btrfs filesystem du' over all); --no-size skips it"
  printf "%s\n" "${rows[@]}"
}
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Many idle branches (bench/scale.sh)"; echo; echo '```'; report; echo '```'; echo; } >>"$BENCH_REPORT"
fi
