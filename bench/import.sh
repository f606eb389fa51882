#!/usr/bin/env bash
# Import speed: a pgbench database (scale 100, ~1.5 GB) copied into the pool by
# `pgd project create --from` and, in the same run, by hand into a plain
# PostgreSQL 15 on the same pool: `pg_dump -Fc | pg_restore` (one job) and
# `pg_dump -Fd -j2` then `pg_restore -j2`. The methods alternate round by round
# (this VM drifts over minutes). Reports seconds, MB/s (source database size
# over the whole command) and pgd's verification share. pgd returns once its copy is
# verified and durable (flushed to disk); a by-hand copy is durable only after a
# CHECKPOINT, so each by-hand time is given to the end of pg_restore and, the
# figure compared, to the end of a CHECKPOINT after it.
# Usage: sudo bash bench/import.sh [build/pgd]   Env: BENCH_SCALE (100), BENCH_ROUNDS (3)
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
SCALE=${BENCH_SCALE:-100}
ROUNDS=${BENCH_ROUNDS:-3}
SRC_PORT=5497 HAND_PORT=5496
SRC=$T/source HAND=$MNT/by-hand
as_pg() { runuser -u postgres -- "$@"; }
stop_clusters() {
  for d in "$SRC" "$HAND"; do
    [ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$d" -m fast stop >/dev/null 2>&1
  done
  return 0
}
EXTRA_CLEANUP=stop_clusters

# The source: a plain cluster outside the pool, on loopback (the same machine
# does the dump and the restore: both sides share 2 cores, as by hand).
RUN=$T/run  # sockets and server logs: the Postgres user's
mkdir -p "$SRC" "$RUN" && chown postgres: "$SRC" "$RUN"
as_pg "$PGBIN/initdb" -D "$SRC" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_wal_size = 4GB\n" \
  "$SRC_PORT" "$RUN" >>"$SRC/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$SRC" -l "$RUN/source.log" -w start >/dev/null
src() { "$PGBIN/psql" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -XtAq -d "$@"; }
src postgres -c "create database shop"
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U postgres shop >/dev/null 2>&1
src shop -c "create extension pg_trgm" -c "create index on pgbench_branches using gin ((filler::text) gin_trgm_ops)" \
  -c "create view rich as select aid from pgbench_accounts where abalance > 0" \
  -c "select lo_from_bytea(0, 'large object')" -c "checkpoint" >/dev/null
SIZE=$(src shop -c "select pg_database_size('shop')")
SOURCE=postgresql://postgres@127.0.0.1:$SRC_PORT/shop

# The pool, and on it the by-hand target: a default PostgreSQL 15, as one would set up.
"$PGD" setup --pool-file "$T/pool.img" --size 12G $([ -n "${BENCH_FS:-}" ] && echo --fs "$BENCH_FS") >/dev/null
mkdir -p "$HAND" && chown postgres: "$HAND"
as_pg "$PGBIN/initdb" -D "$HAND" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" "$HAND_PORT" "$RUN" \
  >>"$HAND/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$HAND" -l "$RUN/by-hand.log" -w start >/dev/null
hand() { "$PGBIN/psql" -h 127.0.0.1 -p "$HAND_PORT" -U postgres -XtAq -d postgres -c "$1"; }

by_hand_single() {
  "$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fc shop |
    "$PGBIN/pg_restore" -h 127.0.0.1 -p "$HAND_PORT" -U postgres -C -d postgres
}
by_hand_dir() {
  rm -rf "$MNT/dump"
  "$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fd -j2 -f "$MNT/dump" shop &&
    "$PGBIN/pg_restore" -h 127.0.0.1 -p "$HAND_PORT" -U postgres -C -d postgres -j2 "$MNT/dump"
  rm -rf "$MNT/dump"
}
: >"$T/times.txt"
for round in $(seq 1 "$ROUNDS"); do
  for method in pgd single dir; do
    hand "drop database if exists shop" >/dev/null
    "$PGD" project delete copy --force >/dev/null 2>&1 || true
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    t0=$(now_ms)
    case $method in
      pgd) "$PGD" project create copy --from "$SOURCE" --json >"$T/pgd.json" ;;
      single) by_hand_single ;;
      dir) by_hand_dir ;;
    esac
    ms=$(( $(now_ms) - t0 ))
    restored=$ms
    if [ "$method" != pgd ]; then hand "checkpoint"; ms=$(( $(now_ms) - t0 )); fi
    verify=0
    [ "$method" = pgd ] && verify=$(jq -r '.import.phases_ms.verify | floor' "$T/pgd.json")
    echo "$method $ms $verify $restored" >>"$T/times.txt"
    echo "round $round: $method $ms ms (restored after $restored ms)" >&2
  done
done
[ "$(jq -r .import.rows "$T/pgd.json")" -gt 0 ] || { echo "pgd imported no rows"; exit 1; }

median_of() { awk -v m="$1" -v c="${2:-2}" '$1 == m {print $c}' "$T/times.txt" | stats | awk '{print $2}'; }
PGD_MS=$(median_of pgd) SINGLE_MS=$(median_of single) DIR_MS=$(median_of dir)
SINGLE_RESTORED_MS=$(median_of single 4) DIR_RESTORED_MS=$(median_of dir 4)
VERIFY_MS=$(awk '$1 == "pgd" {print $3}' "$T/times.txt" | stats | awk '{print $2}')
mbps() { echo $(( SIZE / 1000 / ($1 > 0 ? $1 : 1) )); }  # bytes/ms/1000 = MB/s
report() {
  machine
  echo "# pgbench scale $SCALE + pg_trgm, a view and a large object: $((SIZE / 1000000)) MB; median of $ROUNDS rounds"
  printf "%-46s %9s %7s %12s\n" "method" "s" "MB/s" "restored, s"
  printf "%-46s %9.1f %7d %12s\n" "pgd project create --from (verified, durable)" "$(echo "$PGD_MS/1000" | bc -l)" "$(mbps "$PGD_MS")" "-"
  printf "%-46s %9.1f %7d %12.1f\n" "pg_dump -Fc | pg_restore; CHECKPOINT" "$(echo "$SINGLE_MS/1000" | bc -l)" "$(mbps "$SINGLE_MS")" "$(echo "$SINGLE_RESTORED_MS/1000" | bc -l)"
  printf "%-46s %9.1f %7d %12.1f\n" "pg_dump -Fd -j2; pg_restore -j2; CHECKPOINT" "$(echo "$DIR_MS/1000" | bc -l)" "$(mbps "$DIR_MS")" "$(echo "$DIR_RESTORED_MS/1000" | bc -l)"
  echo "pgd's verification: $VERIFY_MS ms, $(( VERIFY_MS * 100 / (PGD_MS > 0 ? PGD_MS : 1) ))% of its total"
  echo "pgd's phases (last round): $(jq -c .import.phases_ms "$T/pgd.json")"
}
echo
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Import speed (bench/import.sh)"; echo; echo '```'; report; echo '```'; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  json_obj pgd_ms "$PGD_MS" single_ms "$SINGLE_MS" dir_ms "$DIR_MS" verify_ms "$VERIFY_MS" \
    single_restored_ms "$SINGLE_RESTORED_MS" dir_restored_ms "$DIR_RESTORED_MS" \
    size_bytes "$SIZE" rounds "$ROUNDS" | bench_json "$BENCH_JSON" '.[0]'
fi
