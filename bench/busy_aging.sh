#!/usr/bin/env bash
# Does branching a busy source get worse as the source ages? branch_ready.sh
# measures 5 branches of a freshly loaded source; a real source is branched
# again and again. Here the source runs pgbench -c 4 -j 2 in rounds of 28 s with
# 5 branches each (as branch_ready.sh does); after a round the branches are
# deleted and, unless BENCH_OVERLAP=1, the script waits for btrfs to finish
# freeing them (`btrfs subvolume sync`, timed) before the next round starts.
# Per round it prints the source's median and worst 1-second TPS window, the
# branch-ready median, pgd's phase times and the extent count of
# pgbench_accounts' file (its fragmentation).
# Usage: sudo bash bench/busy_aging.sh [path/to/pgd]   (~6 min for 4 rounds)
# Env: BENCH_ROUNDS (default 4), BENCH_OVERLAP=1 (next round starts while
#      btrfs still frees the deleted branches), BENCH_JSON=FILE, BENCH_REPORT=FILE
#      (Markdown section, as run_all.sh uses).
ROUNDS=${BENCH_ROUNDS:-4}
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"

bench_project 40G bench
read -r main_port data_dir < <("$PGD" branch get bench/main --json | jq -r '"\(.port) \(.data_dir)"')
"$PGBIN/pgbench" -i -q -s 100 -h 127.0.0.1 -p "$main_port" -U postgres postgres >/dev/null 2>&1
q "$main_port" "CHECKPOINT"
accounts=$data_dir/$(q "$main_port" "SELECT pg_relation_filepath('pgbench_accounts')")
extents() { filefrag "$accounts" | awk '{print $2}'; }

{
machine
echo "# pgbench scale 100; rounds of 28 s under pgbench -c4 -j2, 5 branches per round"
printf "%-5s %9s %9s %7s %10s %-40s %9s %9s\n" round "TPS med" "worst" "worst%" "ready med" \
  "phases ms: checkpoint/snapshot/start (med)" extents "freed ms"
} | tee "$T/table.txt"
json_rounds=()
for r in $(seq 1 "$ROUNDS"); do
  busy_round bench/main "$main_port" "bench/r${r}b"
  read -r _ tps_med tps_worst ready phases < <(busy_summary)
  ext=$(extents)
  for i in 1 2 3 4 5; do "$PGD" branch delete "bench/r${r}b$i" >/dev/null; done
  freed=-1
  if [ -z "${BENCH_OVERLAP:-}" ] && [ "$(stat -f -c %T "$MNT")" = btrfs ]; then
    t0=$(now_ms); btrfs subvolume sync "$MNT" >/dev/null; freed=$(( $(now_ms) - t0 ))
  fi
  printf "%-5s %9d %9d %6d%% %10d %-40s %9d %9d\n" "$r" "$tps_med" "$tps_worst" \
    $(( tps_worst * 100 / tps_med )) "$ready" "$phases" "$ext" "$freed" | tee -a "$T/table.txt"
  json_rounds+=("$(json_obj round "$r" tps_median "$tps_med" tps_worst "$tps_worst" ready_median_ms "$ready" \
    phases_ms "$phases" accounts_extents "$ext" freed_ms "$freed")")
  q "$main_port" "CHECKPOINT"
  sleep 2
done
if [ -n "${BENCH_JSON:-}" ]; then
  printf '%s\n' "${json_rounds[@]}" | bench_json "$BENCH_JSON" '{date: $date, overlap: $overlap, rounds: .}' \
    --arg date "$(date -u +%FT%TZ)" --argjson overlap "${BENCH_OVERLAP:-0}"
fi
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## A busy source branched round after round (bench/busy_aging.sh)"; echo
    echo "\`\`\`"; cat "$T/table.txt"; echo "\`\`\`"; echo; } >>"$BENCH_REPORT"
fi
