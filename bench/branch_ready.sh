#!/usr/bin/env bash
# Branch-ready time: from the start of the branch command to the first query
# answered on the new branch, for
#   1. pgd branch create
#   2. the raw mechanism by hand: CHECKPOINT + btrfs snapshot + pg_ctl start -w + query
#   3. a full copy of the data directory (cp --reflink=never) + pg_ctl start -w + query
# all on the same pgbench database in one fresh loop-mounted btrfs pool.
# Usage: sudo bash bench/branch_ready.sh [path/to/pgd]
# Env: BENCH_SCALE (default 100 = ~1.5 GB), BENCH_BRANCHES (default 10), BENCH_COPIES (default 2),
#      BENCH_REPORT=FILE also writes the results as a Markdown section to FILE.
set -euo pipefail
PGD=$(realpath "${1:-build/pgd}")
SCALE=${BENCH_SCALE:-100}
N=${BENCH_BRANCHES:-10}
COPIES=${BENCH_COPIES:-2}
PGBIN=/usr/lib/postgresql/15/bin
[ "$(id -u)" -eq 0 ] || { echo "run as root (it mounts a pool)"; exit 1; }

T=$(mktemp -d /tmp/pgd-bench.XXXXXX)
chmod 755 "$T"
export PGD_HOME=$T/home
MNT=$PGD_HOME/pool
MANUAL_PIDS=()
cleanup() {
  set +e
  for d in "$MNT"/manual/*; do
    [ -f "$d/postmaster.pid" ] && runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -m fast stop >/dev/null 2>&1
  done
  "$PGD" setup --detach >/dev/null 2>&1
  mountpoint -q "$MNT" && umount "$MNT"
  rm -rf "$T"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
export PGPASSFILE=$T/pgpass
q() { "$PGBIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -XtAq -c "$2"; }
stats() {  # prints "n median p95 max" of the numbers on stdin
  sort -n | awk '{a[NR]=$1} END {p=int(NR*0.95+0.5); if (p<1) p=1; printf "%d %d %d %d\n", NR, a[int((NR+1)/2)], a[p], a[NR]}'
}

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r), $(date -u +%F)"
"$PGD" setup --pool-file "$T/pool.img" --size 40G >/dev/null
"$PGD" project create bench >/dev/null
umask 077
echo "127.0.0.1:*:*:postgres:$("$PGD" branch password bench/main)" >"$PGPASSFILE"
main_port=$("$PGD" branch get bench/main --json | jq -r .port)
echo "# loading pgbench scale $SCALE ..."
t0=$(now_ms)
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$main_port" -U postgres postgres >/dev/null 2>&1
q "$main_port" "CHECKPOINT"
size=$(q "$main_port" "SELECT pg_size_pretty(pg_database_size('postgres'))")
echo "# loaded in $(( $(now_ms) - t0 )) ms; database size $size"

# 1. pgd
: >"$T/pgd.txt"
for i in $(seq 1 "$N"); do
  t0=$(now_ms)
  port=$("$PGD" branch create "bench/b$i" --json | jq -r .port)
  q "$port" "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$T/pgd.txt"
done
space=$("$PGD" branch get bench/b1 --json | jq -r .size_bytes)

# 2. by hand, with the same ingredients pgd uses
mkdir -p -m 755 "$MNT/manual" "$T/logs"
chown pgd "$T/logs"
: >"$T/manual.txt"
for i in $(seq 1 "$N"); do
  port=$((55000 + i))
  d=$MNT/manual/m$i
  t0=$(now_ms)
  q "$main_port" "CHECKPOINT"
  btrfs subvolume snapshot "$MNT/bench/main" "$d" >/dev/null
  rm -f "$d/postmaster.pid"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -w -s -l "$T/logs/m$i.log" \
    -o "-p $port -k $d -c cluster_name=manual$i" start
  q "$port" "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$T/manual.txt"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -m fast -s stop
  btrfs subvolume delete "$d" >/dev/null
done

# 3. a full copy
: >"$T/copy.txt"
for i in $(seq 1 "$COPIES"); do
  port=$((55100 + i))
  d=$MNT/manual/c$i
  t0=$(now_ms)
  q "$main_port" "CHECKPOINT"
  cp -a --reflink=never "$MNT/bench/main" "$d"
  rm -f "$d/postmaster.pid"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -w -s -l "$T/logs/c$i.log" \
    -o "-p $port -k $d -c cluster_name=copy$i" start
  q "$port" "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$T/copy.txt"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -m fast -s stop
  rm -rf "$d"
done

report() {
echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r), $(date -u +%F)"
echo "# pgbench scale $SCALE, database size $size, idle source"
printf "%-52s %4s %10s %8s %8s\n" "branch-ready time (command start -> first query)" "n" "median ms" "p95 ms" "max ms"
for m in "pgd branch create:pgd" "by hand: CHECKPOINT+snapshot+pg_ctl -w+query:manual" "full copy (cp --reflink=never)+pg_ctl -w+query:copy"; do
  read -r n med p95 max < <(stats <"$T/${m##*:}.txt")
  printf "%-52s %4d %10d %8d %8d\n" "${m%:*}" "$n" "$med" "$p95" "$max"
done
echo
echo "exclusive space of an idle pgd branch: $space bytes ($((space / 1024)) KiB)"
}
echo
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Branch-ready time (bench/branch_ready.sh)"; echo; echo '```'; report; echo '```'; echo; } >"$BENCH_REPORT"
fi
