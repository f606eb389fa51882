#!/usr/bin/env bash
# Run-time speed of branches: pgbench tpcb-like and select-only TPS and p95
# latency on a project's main branch and on a branch of it, for
#   - ext4 on a loop image of the same size (direct I/O loop, as pgd's pool;
#     and buffered, the kernel's default), a plain PostgreSQL 15 with exactly
#     the settings of a pgd branch (pgd.conf copied, WAL archived the same way);
#   - the pgd pool as it was before tuning (btrfs copy-on-write, buffered loop);
#   - each tuning alone: no-COW volumes; direct I/O on the loop device;
#   - both together: pgd's btrfs defaults;
#   - pgd on an XFS pool (reflink clones; files rewritten in place like ext4).
# The ext4 server (direct-I/O loop) stays up for the whole run, and every figure
# of a pgd target is paired with an ext4 run just before it: this VM's speed
# drifts by 10-20% over minutes, and a percentage of a baseline measured a
# quarter of an hour later said more about the drift than about the filesystem.
# Usage: sudo bash bench/runtime.sh [path/to/pgd]
# Every target is first warmed the same way: its data files are read once (so
# its page cache holds what ext4's holds after loading) and it gets a select-only
# warm-up (BENCH_WARMUP s, default 10). A fresh branch's files are new inodes
# with an empty page cache, and users run branches for hours, so the figures are
# steady state; the cold first seconds of a branch are reported separately
# (cold select-only of the branch, no warm-up).
# Env: BENCH_SCALE (default 100), BENCH_DURATION seconds per run (default 30),
#      BENCH_JSON=FILE, BENCH_REPORT=FILE (Markdown section, as run_all.sh uses),
#      BENCH_ONLY=REGEX runs only the configurations whose label matches (the
#      first pgd configuration always runs: the ext4 servers copy its settings).
SCALE=${BENCH_SCALE:-100}
DUR=${BENCH_DURATION:-30}
WARMUP=${BENCH_WARMUP:-10}
SIZE=20G
EXT_PORT=27900
EXTRA_CLEANUP='for p in ${EXT_PIDS:-}; do kill -INT "$p" 2>/dev/null; done; sleep 1; for m in "$T"/ext4*; do mountpoint -q "$m" && umount "$m"; done'
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
cd "$T"  # pgbench writes its per-transaction logs here
RESULTS=$T/results.txt
: >"$RESULTS"

# pgbench MODE PORT -> "TPS P95_MS" (p95 over a 5% sample of transactions)
run_pgbench() {
  local mode=$1 port=$2 out
  rm -f "$T"/pgbench_log.*
  # shellcheck disable=SC2086
  out=$("$PGBIN/pgbench" $mode -c 4 -j 2 -T "$DUR" -l --sampling-rate=0.05 \
    -h 127.0.0.1 -p "$port" -U postgres postgres 2>/dev/null)
  local tps p95
  tps=$(echo "$out" | awk '/^tps/ {printf "%d", $3}')
  p95=$(cat "$T"/pgbench_log.* | awk '{print $3}' | sort -n |
        awk '{a[NR]=$1} END {p=int(NR*0.95); if (p<1) p=1; printf "%.2f", a[p]/1000}')
  echo "$tps $p95"
}

# warm DATA_DIR PORT: read every file of the data directory once, then a
# select-only warm-up, so that each target starts from the same cache state.
warm() {
  find "$1" -type f -print0 | xargs -0 cat >/dev/null
  "$PGBIN/pgbench" -S -c 4 -j 2 -T "$WARMUP" -h 127.0.0.1 -p "$2" -U postgres postgres >/dev/null 2>&1
}

# measure LABEL PORT DATA_DIR: both workloads after a warm-up, one result line;
# with PAIRED=1 each run is preceded by the same run on the ext4 server.
measure() {
  local label=$1 port=$2 tpcb sel e_tpcb="" e_sel=""
  warm "$3" "$port"
  [ "${PAIRED:-0}" = 1 ] && e_tpcb=$(run_pgbench "" "$EXT_PORT")
  tpcb=$(run_pgbench "" "$port")
  [ "${PAIRED:-0}" = 1 ] && e_sel=$(run_pgbench "-S" "$EXT_PORT")
  sel=$(run_pgbench "-S" "$port")
  echo "$label|$tpcb|$sel|${e_tpcb:-$tpcb}|${e_sel:-$sel}" | tee -a "$RESULTS" >&2
}

load() {  # PORT
  "$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$1" -U postgres postgres >/dev/null 2>&1
  q "$1" "CHECKPOINT"
}

wanted() { [ -z "${BENCH_ONLY:-}" ] || [[ "$1" =~ $BENCH_ONLY ]] || [ ! -f "$T/pgd.conf.tuned" ]; }

# pgd with a given tuning: COW (always|default), loop direct I/O (on|off), filesystem
pgd_config() {  # LABEL COW DIO FS
  local label=$1
  wanted "$label" || return 0
  export PGD_BTRFS_COW=$2 PGD_LOOP_DIRECT_IO=$3 BENCH_FS=$4
  bench_project "$SIZE" rt
  local main_port branch_port main_dir branch_dir
  main_port=$("$PGD" branch get rt/main --json | jq -r .port)
  main_dir=$("$PGD" branch get rt/main --json | jq -r .data_dir)
  load "$main_port"
  "$PGD" branch create rt/b >/dev/null
  branch_port=$("$PGD" branch get rt/b --json | jq -r .port)
  branch_dir=$("$PGD" branch get rt/b --json | jq -r .data_dir)
  if [ ! -f "$T/pgd.conf.tuned" ]; then  # the first config: pgd's defaults
    cp "$MNT/rt/main/pgd.conf" "$T/pgd.conf.tuned"
    cp "$PGD_HOME/bin/pgd-archive-wal" "$T/archive-wal"
    cp -a "$PGD_HOME/tls/rt" "$T/tls"  # the ext4 server serves TLS too, like a branch
    TUNED_HOME=$PGD_HOME
    ext4_start "$T/ext4" on "$EXT_PORT"  # the paired baseline, up until the end
    PAIRED=1
  fi
  measure "$label: main" "$main_port" "$main_dir"
  local e_cold cold
  e_cold=$(run_pgbench "-S" "$EXT_PORT")
  cold=$(run_pgbench "-S" "$branch_port")
  echo "$label: branch, cold (select-only, no warm-up)|0 0|$cold|0 0|$e_cold" | tee -a "$RESULTS" >&2
  measure "$label: branch" "$branch_port" "$branch_dir"
  "$PGD" project delete rt --force >/dev/null
  "$PGD" setup --detach >/dev/null
  umount "$MNT" 2>/dev/null || true
  rm -f "$T/pool.img"
  rm -rf "$PGD_HOME"
  unset PGD_BTRFS_COW PGD_LOOP_DIRECT_IO BENCH_FS
}

# A plain PostgreSQL on ext4 at MOUNT_DIR (DIO on|off for its loop device) on
# PORT, with the same pgd.conf (port and paths changed), loaded and warmed up.
ext4_start() {  # MOUNT_DIR DIO PORT
  local dir=$1 img=$1.img port=$3
  truncate -s "$SIZE" "$img"
  mkfs.ext4 -q -F "$img"
  mkdir -p "$dir"
  mount -o loop,noatime "$img" "$dir"
  [ "$2" = on ] && losetup --direct-io=on "$(findmnt -n -o SOURCE "$dir")"
  mkdir -p "$dir/data" "$dir/wal" "$dir/run"
  chown pgd "$dir/data" "$dir/wal" "$dir/run"
  chmod 700 "$dir/data"
  runuser -u pgd -- "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --data-checksums -N >/dev/null
  sed -e "s|^port = .*|port = $port|" \
      -e "s|^unix_socket_directories = .*|unix_socket_directories = '$dir/run'|" \
      -e "s|^archive_command = '\(.*\) %p %f .*'|archive_command = '$T/archive-wal %p %f $dir/wal'|" \
      -e "s|$TUNED_HOME/tls/rt|$T/tls|g" \
      "$T/pgd.conf.tuned" >"$dir/data/pgd.conf"
  echo "include 'pgd.conf'" >>"$dir/data/postgresql.conf"
  chown pgd "$dir/data/pgd.conf"
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$dir/data" -w -s -l "$dir/run/server.log" start
  EXT_PIDS="${EXT_PIDS:-} $(head -n1 "$dir/data/postmaster.pid")"
  load "$port"
  warm "$dir/data" "$port"
}

ext4_stop() {  # MOUNT_DIR
  local pid
  pid=$(head -n1 "$1/data/postmaster.pid")
  runuser -u pgd -- "$PGBIN/pg_ctl" -D "$1/data" -m fast -s stop
  EXT_PIDS=${EXT_PIDS//$pid/}
  umount "$1"
  rm -f "$1.img"
}

machine
echo "# pgbench scale $SCALE, 4 clients, 2 threads, $DUR s per run; pools and images of $SIZE" >&2
pgd_config "pgd defaults (no-COW + direct I/O)" default on btrfs
pgd_config "pgd on XFS (reflink, direct I/O)" default on xfs
pgd_config "btrfs before tuning (COW, buffered loop)" always off btrfs
pgd_config "no-COW volumes only" default off btrfs
pgd_config "loop direct I/O only" always on btrfs
# The baselines themselves: the paired server alone (100% by construction), and
# ext4 on a buffered loop (the kernel's default), paired with it.
PAIRED=0 measure "ext4, direct I/O loop (as pgd's pool)" "$EXT_PORT" "$T/ext4/data"
if wanted "ext4, buffered loop"; then
  ext4_start "$T/ext4-buffered" off 27901
  measure "ext4, buffered loop (kernel default)" 27901 "$T/ext4-buffered/data"
  ext4_stop "$T/ext4-buffered"
fi
ext4_stop "$T/ext4"

report() {
  printf '%-58s %9s %8s %9s %8s %8s %8s\n' "target" "tpcb TPS" "p95 ms" "sel TPS" "p95 ms" "tpcb %" "sel %"
  while IFS='|' read -r label tpcb sel e_tpcb e_sel; do
    read -r t tp <<<"$tpcb"
    read -r s sp <<<"$sel"
    read -r et _ <<<"$e_tpcb"
    read -r es _ <<<"$e_sel"
    if [ "$t" = 0 ]; then t=- tp=- tpct=-; else tpct=$(( t * 100 / et ))%; fi
    printf '%-58s %9s %8s %9s %8s %8s %7s%%\n' "$label" "$t" "$tp" "$s" "$sp" \
      "$tpct" "$(( s * 100 / es ))"
  done <"$RESULTS"
  echo "(% of ext4 on a direct-I/O loop image with the same settings, each run right after the same"
  echo " run on ext4; the cold line against warm ext4; p95 = 95th percentile latency)"
}
{
  machine
  echo "# pgbench scale $SCALE, -c 4 -j 2, $DUR s per run, tpcb-like then select-only (-S); images of $SIZE"
  report
} | tee "$T/table.txt"

if [ -n "${BENCH_JSON:-}" ]; then
  # Each line of $RESULTS: "target|tpcb_tps tpcb_p95|select_tps select_p95|ext4_tpcb ...|ext4_select ..."
  while IFS='|' read -r target tpcb sel e_tpcb e_sel; do
    read -r tpcb_tps tpcb_p95 _ <<<"$tpcb"
    read -r sel_tps sel_p95 _ <<<"$sel"
    json_obj target "$target" tpcb_tps "$tpcb_tps" tpcb_p95_ms "$tpcb_p95" select_tps "$sel_tps" \
      select_p95_ms "$sel_p95" ext4_tpcb_tps "${e_tpcb%% *}" ext4_select_tps "${e_sel%% *}"
  done <"$RESULTS" | bench_json "$BENCH_JSON" .
fi
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Run-time speed: pgd pool vs ext4 (bench/runtime.sh)"; echo; echo '```'; cat "$T/table.txt"; echo '```'; echo; } >>"$BENCH_REPORT"
fi
