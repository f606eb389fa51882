#!/usr/bin/env bash
# PITR speed: snapshot a pgbench database, run pgbench for a while (WAL piles
# up in the archive), then recover a branch to "now" and measure how long it
# takes and how fast WAL replays (MB/s) — beside, in the same run, replaying
# the same WAL with plain crash recovery of a snapshot (no archive, no
# restore_command), the floor any archive-based recovery can approach.
# Usage: sudo bash bench/pitr_replay.sh [path/to/pgd]
# Env: BENCH_SCALE (default 10), BENCH_SECONDS (default 300 = 5 minutes of pgbench),
#      BENCH_REPORT=FILE appends the results as a Markdown section to FILE,
#      BENCH_JSON=FILE writes them as JSON.
SCALE=${BENCH_SCALE:-10}
SECONDS_OF_LOAD=${BENCH_SECONDS:-300}
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"

bench_project 40G bench
port=$("$PGD" branch get bench/main --json | jq -r .port)
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
snap=$("$PGD" snapshot create bench/main --label base --json)
start_lsn=$(jq -r .redo_lsn <<<"$snap")
echo "# pgbench -c 4 -j 2 for $SECONDS_OF_LOAD s on scale $SCALE ..."
tps=$("$PGBIN/pgbench" -n -c 4 -j 2 -T "$SECONDS_OF_LOAD" -h 127.0.0.1 -p "$port" -U postgres postgres 2>/dev/null \
      | awk '/^tps/ {printf "%d", $3; exit}')
end_lsn=$(q "$port" "SELECT pg_current_wal_lsn()")
wal_mb=$(q "$port" "SELECT round(pg_wal_lsn_diff('$end_lsn', '$start_lsn') / 1048576.0)")

t0=$(now_ms)
out=$("$PGD" branch create bench/recovered --pitr "0 seconds ago" --json)
pitr_ms=$(( $(now_ms) - t0 ))
recover_ms=$(jq -r '.timings_ms.recover' <<<"$out" | cut -d. -f1)
rport=$(jq -r .port <<<"$out")
check=$(q "$rport" "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history)")

# The floor: the same WAL replayed by crash recovery from local pg_wal (a
# snapshot of the source, which still holds the WAL since the checkpoint only
# if max_wal_size kept it; we measure what is there).
t0=$(now_ms)
"$PGD" branch create bench/crash >/dev/null
crash_ms=$(( $(now_ms) - t0 ))

report() {
  machine
  echo "# pgbench scale $SCALE, -c 4 -j 2 for $SECONDS_OF_LOAD s at $tps TPS: $wal_mb MB of WAL after the snapshot"
  printf "%-46s %10s\n" "step" "ms"
  printf "%-46s %10d\n" "pgd branch create --pitr 'now' (total)" "$pitr_ms"
  printf "%-46s %10d\n" "  of which WAL replay (recover phase)" "$recover_ms"
  printf "%-46s %10d\n" "pgd branch create (clone of the live source)" "$crash_ms"
  echo "replay speed: $(( wal_mb * 1000 / (recover_ms > 0 ? recover_ms : 1) )) MB/s"
  echo "recovered branch consistent (sum(abalance) = sum(history.delta)): $check"
}
echo
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## PITR replay speed (bench/pitr_replay.sh)"; echo; echo '```'; report; echo '```'; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  json_obj pitr_ms "$pitr_ms" recover_ms "$recover_ms" wal_mb "$wal_mb" consistent "$check" |
    bench_json "$BENCH_JSON" '.[0]'
fi
