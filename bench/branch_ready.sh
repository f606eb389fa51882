#!/usr/bin/env bash
# Branch-ready time: from the start of the branch command to the first query
# answered on the new branch, for
#   1. pgd branch create
#   2. the raw mechanism by hand: CHECKPOINT + btrfs snapshot + pg_ctl start -w + query
#   3. a full copy of the data directory (cp --reflink=never) + pg_ctl start -w + query
#   4. CREATE DATABASE ... TEMPLATE (the in-server alternative) + query
# all on the same pgbench database in one fresh loop-mounted btrfs pool; then,
# with pgbench -c 4 -j 2 running on the source, pgd's branch-ready time and the
# source's TPS per second; then space, delete, reset and project-create figures.
# Usage: sudo bash bench/branch_ready.sh [path/to/pgd]
# Env: BENCH_SCALE (default 100 = ~1.5 GB), BENCH_BRANCHES (default 20), BENCH_COPIES (default 2),
#      BENCH_TEMPLATES (default 3), BENCH_BUSY_BRANCHES (default 5), BENCH_JSON=FILE for JSON results,
#      BENCH_REPORT=FILE also writes the results as a Markdown section to FILE.
SCALE=${BENCH_SCALE:-100}
N=${BENCH_BRANCHES:-20}
COPIES=${BENCH_COPIES:-2}
TEMPLATES=${BENCH_TEMPLATES:-3}
BUSY_BRANCHES=${BENCH_BUSY_BRANCHES:-5}
# By-hand servers are not pgd's: stop them ourselves on the way out.
EXTRA_CLEANUP='for d in "$MNT"/manual/*; do [ -f "$d/postmaster.pid" ] && runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -m fast stop >/dev/null 2>&1; done'
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"

machine
bench_project 40G bench
main_port=$("$PGD" branch get bench/main --json | jq -r .port)
echo "# loading pgbench scale $SCALE ..."
t0=$(now_ms)
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$main_port" -U postgres postgres >/dev/null 2>&1
q "$main_port" "CHECKPOINT"
size=$(q "$main_port" "SELECT pg_size_pretty(pg_database_size('postgres'))")
echo "# loaded in $(( $(now_ms) - t0 )) ms; database size $size"
# An idle source is one whose WAL archiver has caught up too: loading leaves up
# to ~1 GB of WAL to archive, and branches timed during that copying (each
# segment written and fsynced into the archive) measured the copying as well.
t0=$(now_ms)
for _ in $(seq 1 1200); do
  [ "$(q "$main_port" "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")" = 0 ] && break
  sleep 0.5
done
echo "# WAL archive caught up $(( $(now_ms) - t0 )) ms after loading"

# 1. pgd
: >"$T/pgd.txt"
for i in $(seq 1 "$N"); do
  t0=$(now_ms)
  out=$("$PGD" branch create "bench/b$i" --json)
  # The port with bash itself: a jq process would add ~15 ms that is not pgd's.
  [[ $out =~ \"port\":\ ([0-9]+) ]] && port=${BASH_REMATCH[1]}
  q "$port" "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$T/pgd.txt"
done
space=$("$PGD" branch get bench/b1 --json | jq -r .size_bytes)

# btrfs: CHECKPOINT + an atomic snapshot. XFS: an online backup on one psql
# session (pg_backup_start, reflink copy, pg_backup_stop into backup_label, pg_wal
# copied again), as pgd does it.
POOL_FS=$(findmnt -n -o FSTYPE "$MNT")
clone_by_hand() {  # DIR
  if [ "$POOL_FS" = btrfs ]; then
    q "$main_port" "CHECKPOINT"
    btrfs subvolume snapshot "$MNT/bench/main" "$1" >/dev/null
    return
  fi
  "$PGBIN/psql" -h 127.0.0.1 -p "$main_port" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 <<EOF >/dev/null
SELECT pg_backup_start('by hand', true);
\\! cp -a --reflink=always $MNT/bench/main $1
\\o $1/backup_label
SELECT labelfile FROM pg_backup_stop(false);
\\o
\\! rm -rf $1/pg_wal && cp -a --reflink=always $MNT/bench/main/pg_wal $1/pg_wal
EOF
  chown pgd "$1/backup_label"
}

# 2. by hand, with the same ingredients pgd uses. These clones are not pgd's:
# their copied pgd.conf would archive into main's archive (and the archive
# command rightly refuses their diverging segments), so archiving is off.
mkdir -p -m 755 "$MNT/manual" "$T/logs"
chown pgd "$T/logs"
: >"$T/manual.txt"
for i in $(seq 1 "$N"); do
  port=$((27000 + i))
  d=$MNT/manual/m$i
  t0=$(now_ms)
  clone_by_hand "$d"
  rm -f "$d/postmaster.pid"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -w -s -l "$T/logs/m$i.log" \
    -o "-p $port -k $d -c cluster_name=manual$i -c archive_mode=off" start
  q "$port" "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$T/manual.txt"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -m fast -s stop
  if [ "$POOL_FS" = btrfs ]; then btrfs subvolume delete "$d" >/dev/null; else rm -rf "$d"; fi
done

# 3. a full copy
: >"$T/copy.txt"
for i in $(seq 1 "$COPIES"); do
  port=$((27100 + i))
  d=$MNT/manual/c$i
  t0=$(now_ms)
  q "$main_port" "CHECKPOINT"
  cp -a --reflink=never "$MNT/bench/main" "$d"
  rm -f "$d/postmaster.pid"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -w -s -l "$T/logs/c$i.log" \
    -o "-p $port -k $d -c cluster_name=copy$i -c archive_mode=off" start
  q "$port" "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$T/copy.txt"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -m fast -s stop
  rm -rf "$d"
done

# 4. CREATE DATABASE ... TEMPLATE
: >"$T/template.txt"
for i in $(seq 1 "$TEMPLATES"); do
  t0=$(now_ms)
  q "$main_port" "CREATE DATABASE tpl$i TEMPLATE postgres" 2>/dev/null || \
    { q "$main_port" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'postgres' AND pid <> pg_backend_pid()" >/dev/null; q "$main_port" "CREATE DATABASE tpl$i TEMPLATE postgres"; }
  "$PGBIN/psql" -h 127.0.0.1 -p "$main_port" -U postgres -d "tpl$i" -XtAq -c "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$T/template.txt"
  q "$main_port" "DROP DATABASE tpl$i"
done

# Space: an idle branch, and the same branch after 1,000 single-row updates.
printf '%s\n' '\set aid random(1, 100000)' \
  'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;' >"$T/update.sql"
b1_port=$("$PGD" branch get bench/b1 --json | jq -r .port)
"$PGBIN/pgbench" -n -t 1000 -f "$T/update.sql" -h 127.0.0.1 -p "$b1_port" -U postgres postgres >/dev/null 2>&1
q "$b1_port" "CHECKPOINT"
space_updated=$("$PGD" branch get bench/b1 --json | jq -r .size_bytes)

# Delete, reset, project create.
: >"$T/delete.txt"; : >"$T/reset.txt"; : >"$T/project.txt"
for i in $(seq 2 $(( N < 6 ? N : 6 ))); do
  t0=$(now_ms); "$PGD" branch reset "bench/b$i" >/dev/null; echo $(( $(now_ms) - t0 )) >>"$T/reset.txt"
done
for i in $(seq 2 $(( N < 6 ? N : 6 ))); do
  t0=$(now_ms); "$PGD" branch delete "bench/b$i" >/dev/null; echo $(( $(now_ms) - t0 )) >>"$T/delete.txt"
done
for i in 1 2 3; do
  t0=$(now_ms); "$PGD" project create "empty$i" >/dev/null; echo $(( $(now_ms) - t0 )) >>"$T/project.txt"
  "$PGD" project delete "empty$i" >/dev/null
done

# Busy source: pgbench -c 4 -j 2 with per-second progress; branch every 4 s.
busy_round bench/main "$main_port" bench/busy "$BUSY_BRANCHES"
cp "$T/ready.txt" "$T/busy.txt"
read -r tps_n tps_median tps_worst < <(tps_windows <"$T/progress.txt")

report() {
machine
echo "# pgbench scale $SCALE, database size $size"
printf "%-56s %4s %10s %8s %8s\n" "branch-ready time (command start -> first query)" "n" "median ms" "p95 ms" "max ms"
for m in "pgd branch create, idle source:pgd" "by hand: CHECKPOINT+snapshot+pg_ctl -w+query:manual" \
         "full copy (cp --reflink=never)+pg_ctl -w+query:copy" "CREATE DATABASE ... TEMPLATE + query:template" \
         "pgd branch create, source under pgbench -c4 -j2:busy" "pgd branch reset:reset" "pgd branch delete:delete" \
         "pgd project create (initdb + start):project"; do
  read -r n med p95 max < <(stats <"$T/${m##*:}.txt")
  printf "%-56s %4d %10d %8d %8d\n" "${m%:*}" "$n" "$med" "$p95" "$max"
done
echo
echo "source TPS under pgbench -c4 -j2 while branching: median $tps_median, worst 1-second window $tps_worst ($(( tps_worst * 100 / (tps_median > 0 ? tps_median : 1) ))% of median, $tps_n windows)"
echo "exclusive space of an idle pgd branch: $space bytes ($((space / 1024)) KiB)"
echo "exclusive space after 1,000 single-row updates + CHECKPOINT: $space_updated bytes ($((space_updated / 1024)) KiB)"
}
echo
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Branch-ready time and operations (bench/branch_ready.sh)"; echo; echo "\`\`\`"; report; echo "\`\`\`"; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  for m in pgd manual copy template busy reset delete project; do
    read -r n med p95 max < <(stats <"$T/$m.txt")
    json_obj method "$m" n "$n" median_ms "$med" p95_ms "$p95" max_ms "$max"
  done | bench_json "$BENCH_JSON" \
    '{date: $date, scale: $scale, results: (map({(.method): del(.method)}) | add),
      busy_tps: $busy, space: $space}' \
    --arg date "$(date -u +%FT%TZ)" --argjson scale "$SCALE" \
    --argjson busy "$(json_obj median "$tps_median" worst "$tps_worst")" \
    --argjson space "$(json_obj idle_branch_bytes "$space" after_1000_updates_bytes "$space_updated")"
fi
