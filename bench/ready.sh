#!/usr/bin/env bash
# Branch-ready time as a user sees it, against its floor, in one run (issue 27):
# on an idle scale-100 source (loaded, vacuumed, checkpointed, WAL archive caught
# up), BENCH_ROUNDS x (pgd branch create -> the first query answered by psql over
# TCP with TLS, through the service entry pgd writes, as a user connects),
# interleaved with BENCH_ROUNDS x the same psql query against a branch that is
# already running and has answered before: the connection's own cost, the floor.
# pgd's added cost is ready minus floor. It is broken down by phase from pgd's
# own timings (--json), the new server's log (where PostgreSQL's start spends
# its time) and the first query against the floor (the first backend's extra).
# Usage: sudo bash bench/ready.sh [build/pgd]
# Env: BENCH_SCALE (100), BENCH_ROUNDS (20), BENCH_FS (btrfs|xfs), BENCH_JSON=FILE,
#      BENCH_REPORT=FILE (appends a Markdown section), BENCH_COMPARE=OTHER_PGD (an A/B
#      tool: each round also creates with OTHER_PGD, the order swapped every round,
#      and both tables are printed; nothing is written).
SCALE=${BENCH_SCALE:-100}
ROUNDS=${BENCH_ROUNDS:-20}
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
# The service file pgd keeps: psql finds host, port, TLS settings and CA in it.
export PGSERVICEFILE=$T/pg_service.conf

machine
bench_project 40G rdy
main_port=$("$PGD" branch get rdy/main --json | jq -r .port)
echo "# loading pgbench scale $SCALE ..."
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$main_port" -U postgres postgres >/dev/null 2>&1
q "$main_port" "VACUUM ANALYZE" >/dev/null
q "$main_port" "CHECKPOINT"
for _ in $(seq 1 1200); do  # an idle source's archiver has caught up too
  [ "$(q "$main_port" "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")" = 0 ] && break
  sleep 0.5
done
q "$main_port" "CHECKPOINT"
"$PGD" branch create rdy/floor >/dev/null
ask() { "$PGBIN/psql" "service=rdy-$1" -XtAq -c "SELECT 1" >/dev/null; }
ask floor; ask floor  # the floor's backend files and catalogs are warm, as on any running branch
POOL_FS=$(findmnt -n -o FSTYPE "$MNT")

# Log line time (PostgreSQL's %m, "2026-12-07 21:30:05.391 UTC") -> epoch ms.
log_ms() {  # LOG PATTERN
  local line
  line=$(grep -m1 -- "$2" "$1") || { echo 0; return; }
  date -d "${line:0:27}" +%s%3N
}

: >"$T/rows.txt"; : >"$T/rows_b.txt"
# One create and its first query by pgd binary BIN, as branch NAME: a row of
# phase times appended to ROWS.
one_ready() {  # BIN NAME ROWS
  local t0 t1 t2 out log starting redo_done ckpt_start ckpt_done ready
  t0=$(now_ms)
  out=$("$1" branch create "rdy/$2" --json)
  t1=$(now_ms)
  ask "$2"
  t2=$(now_ms)
  log=$(jq -r .log_file <<<"$out")
  # PostgreSQL's start from its log: "starting" is logged once the postmaster has
  # read its configuration and made its shared memory; then the startup process
  # (crash recovery of the clone, its end-of-recovery checkpoint) until "ready".
  starting=$(log_ms "$log" "starting PostgreSQL")
  redo_done=$(log_ms "$log" "redo done at")
  ckpt_start=$(log_ms "$log" "checkpoint starting: end-of-recovery")
  ckpt_done=$(log_ms "$log" "checkpoint complete")
  ready=$(log_ms "$log" "ready to accept connections")
  jq -r --argjson cmd $((t1 - t0)) --argjson first $((t2 - t1)) --argjson floor "$floor" \
    --argjson starting "$starting" --argjson redo "$redo_done" \
    --argjson cks "$ckpt_start" --argjson ckd "$ckpt_done" --argjson ready "$ready" '
    .timings_ms as $p |
    [$cmd + $first, $floor, $cmd, $first,
     ($p.connect // 0), ($p.checkpoint // 0), ($p.snapshot // 0), ($p.configure // 0),
     ($p.base // 0), ($p.start // 0),
     ($p.start - ($ready - $starting)),       # spawn -> "starting": exec, libraries, config, shared memory
     ($redo - $starting),                     # startup process to the end of redo (incl. syncfs)
     ($ckd - $cks),                           # the end-of-recovery checkpoint
     ($ready - $ckd),                         # after it until "ready"
     (.total_ms - ([$p[]] | add)),            # pgd inside the command, outside the phases above
     ($cmd - .total_ms)]                      # pgd process start and exit, client files
    | map(floor) | @tsv' <<<"$out" >>"$3"
  "$PGD" branch delete "rdy/$2" >/dev/null
}

for i in $(seq 1 "$ROUNDS"); do
  # Alternate which goes first, so the VM's drift falls on all alike.
  t=$(now_ms); ask floor; floor=$(( $(now_ms) - t ))
  if [ -n "${BENCH_COMPARE:-}" ] && (( i % 2 == 0 )); then one_ready "$BENCH_COMPARE" "c$i" "$T/rows_b.txt"; fi
  one_ready "$PGD" "b$i" "$T/rows.txt"
  if [ -n "${BENCH_COMPARE:-}" ] && (( i % 2 )); then one_ready "$BENCH_COMPARE" "c$i" "$T/rows_b.txt"; fi
done

ROWS=$T/rows.txt
col() { cut -f"$1" "$ROWS" | stats; }  # n median p95 max of column N
read -r _ READY READY95 _ < <(col 1)
read -r _ FLOOR FLOOR95 _ < <(col 2)
added=$(( READY - FLOOR )) added95=$(( READY95 - FLOOR ))
names=("" "ready (create -> first answer)" "floor (the same query, running branch)" "pgd branch create" \
  "first query on the new branch" "  source connection" "  checkpoint (btrfs: skipped when idle; XFS: backup start)" \
  "  snapshot / clone" "  configure" "  base snapshot (XFS: before the start)" \
  "  postgres start (spawn -> ready)" \
  "    exec, libraries, config, shared memory" "    startup: crash recovery" \
  "    end-of-recovery checkpoint" "    after it until ready" "  pgd, other (journal, state, locks)" \
  "  pgd process start/exit, client files")
report() {
  machine
  echo "# pgbench scale $SCALE, $POOL_FS pool, $ROUNDS rounds; psql over TCP with TLS (service file)"
  printf "%-60s %10s %8s\n" "phase" "median ms" "p95 ms"
  for c in $(seq 1 16); do
    read -r _ m p _ < <(col "$c")
    printf "%-60s %10d %8d\n" "${names[$c]}" "$m" "$p"
  done
  read -r _ FIRST _ _ < <(col 4)
  echo "first query's extra over the floor (the new server's first backend): $(( FIRST - FLOOR )) ms (median)"
  echo "pgd's added cost (ready - floor): median $added ms, p95 $added95 ms"
}
echo
report
if [ -n "${BENCH_COMPARE:-}" ]; then  # the same rounds by the other binary, interleaved
  ROWS=$T/rows_b.txt
  read -r _ READY READY95 _ < <(col 1)
  added=$(( READY - FLOOR )) added95=$(( READY95 - FLOOR ))
  echo; echo "# the same, interleaved, by $BENCH_COMPARE"; report
  exit 0
fi
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Branch-ready against its floor, $POOL_FS (bench/ready.sh)"; echo; echo "\`\`\`"; report; echo "\`\`\`"; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  for c in $(seq 1 16); do
    read -r _ m p _ < <(col "$c")
    json_obj phase "$(sed 's/^ *//' <<<"${names[$c]}")" median_ms "$m" p95_ms "$p"
  done | bench_json "$BENCH_JSON" \
    '{date: $date, fs: $fs, scale: $scale, rounds: $rounds, ready_median_ms: $ready,
      floor_median_ms: $floor, added_median_ms: $added, added_p95_ms: $added95, phases: .}' \
    --arg date "$(date -u +%FT%TZ)" --arg fs "$POOL_FS" --argjson scale "$SCALE" \
    --argjson rounds "$ROUNDS" --argjson ready "$READY" --argjson floor "$FLOOR" \
    --argjson added "$added" --argjson added95 "$added95"
fi
