#!/usr/bin/env bash
# Following a primary (issue 18), all in one run: a plain PostgreSQL 15 primary
# outside the pool on loopback (pgbench scale BENCH_SCALE), a project following
# it through a slot, and an ordinary project beside it.
#  - Branch-ready time (create to first query) from the idle following main and
#    from the idle ordinary main (both after a little work and a checkpoint),
#    alternating, BENCH_BRANCHES times each.
#  - The primary's TPS under pgbench -c 4 -j 2 with main stopped (nothing
#    following) and with main following, alternating round by round (this VM
#    drifts over minutes), and while following, the replay lag the primary
#    sees (pg_stat_replication.replay_lag) sampled every 0.5 s: median and max.
# Usage: sudo bash bench/follow.sh [build/pgd]
# Env: BENCH_SCALE (10), BENCH_ROUNDS (3), BENCH_SECONDS (20), BENCH_BRANCHES (10)
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
SCALE=${BENCH_SCALE:-10} ROUNDS=${BENCH_ROUNDS:-3} SECONDS_PER_RUN=${BENCH_SECONDS:-20}
BRANCHES=${BENCH_BRANCHES:-10}
PRIMARY_PORT=5495
PRIMARY=$T/primary RUN=$T/run
as_pg() { runuser -u postgres -- "$@"; }
stop_primary() {
  [ -f "$PRIMARY/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PRIMARY" -m fast stop >/dev/null 2>&1
  return 0
}
EXTRA_CLEANUP=stop_primary

mkdir -p "$PRIMARY" "$RUN" && chown postgres: "$PRIMARY" "$RUN"
as_pg "$PGBIN/initdb" -D "$PRIMARY" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_wal_size = 2GB\n" \
  "$PRIMARY_PORT" "$RUN" >>"$PRIMARY/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$PRIMARY" -l "$RUN/primary.log" -w start >/dev/null
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres postgres >/dev/null 2>&1
q "$PRIMARY_PORT" "checkpoint" >/dev/null

bench_project 8G plain
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$(jq -r .port <<<"$("$PGD" branch get plain/main --json)")" \
  -U postgres postgres >/dev/null 2>&1  # the same data as the primary's
"$PGD" project create shop --follow "postgresql://postgres@127.0.0.1:$PRIMARY_PORT/postgres" --slot pgd_bench >/dev/null
# Idle, as a database is between bursts: some work since the base backup, then
# a checkpoint (PostgreSQL makes one within checkpoint_timeout of any work), on
# the primary and on the ordinary main alike.
PLAIN_PORT=$(jq -r .port <<<"$("$PGD" branch get plain/main --json)")
for port in "$PRIMARY_PORT" "$PLAIN_PORT"; do
  "$PGBIN/pgbench" -n -c 2 -T 3 -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
  q "$port" "checkpoint" >/dev/null
done
sleep 1  # main replays the primary's checkpoint record

# --- Branch-ready: following main and ordinary main, alternately ----------------
: >"$T/ready.txt"
for i in $(seq 1 "$BRANCHES"); do
  for project in shop plain; do
    sync
    t0=$(now_ms)
    out=$("$PGD" branch create "$project/b$i" --json)
    port=$(jq -r .port <<<"$out")
    q "$port" "SELECT 1" >/dev/null
    echo "$project $(( $(now_ms) - t0 ))" >>"$T/ready.txt"
    "$PGD" branch delete "$project/b$i" >/dev/null
  done
done
median_ready() { awk -v p="$1" '$1 == p {print $2}' "$T/ready.txt" | stats | awk '{print $2}'; }
READY_FOLLOW=$(median_ready shop) READY_PLAIN=$(median_ready plain)

# --- The primary's TPS without and with pgd following; the lag ----------------
lag_sampler() {  # until killed: the primary's replay lag of main, in ms, every 0.5 s
  while :; do
    q "$PRIMARY_PORT" "select coalesce((extract(epoch from replay_lag) * 1000)::bigint, 0)
                       from pg_stat_replication where application_name = 'pgd_shop'" || true
    sleep 0.5
  done
}
: >"$T/tps.txt"; : >"$T/lag.txt"
for round in $(seq 1 "$ROUNDS"); do
  for mode in without with; do
    if [ "$mode" = without ]; then "$PGD" stop shop/main >/dev/null; else "$PGD" start shop/main >/dev/null; sleep 2; fi
    sampler=
    if [ "$mode" = with ]; then lag_sampler >>"$T/lag.txt" & sampler=$!; fi
    tps=$("$PGBIN/pgbench" -n -c 4 -j 2 -T "$SECONDS_PER_RUN" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres postgres 2>/dev/null |
          awk '/^tps/ {print int($3); exit}')
    [ -n "$sampler" ] && { kill "$sampler"; wait "$sampler" 2>/dev/null || true; }
    echo "$mode $tps" >>"$T/tps.txt"
    echo "round $round: $mode following: $tps TPS" >&2
  done
done
median_tps() { awk -v m="$1" '$1 == m {print $2}' "$T/tps.txt" | stats | awk '{print $2}'; }
TPS_WITHOUT=$(median_tps without) TPS_WITH=$(median_tps with)
read -r LAG_N LAG_MEDIAN _ LAG_MAX < <(grep -E '^[0-9]+$' "$T/lag.txt" | stats)

report() {
  machine
  echo "# primary: PostgreSQL 15 on loopback, pgbench scale $SCALE; main follows it through a slot"
  printf "%-58s %8s\n" "branch-ready, idle source (median of $BRANCHES)" "ms"
  printf "%-58s %8d\n" "  from the following main" "$READY_FOLLOW"
  printf "%-58s %8d\n" "  from an ordinary main" "$READY_PLAIN"
  echo "  ratio: $(echo "scale=2; $READY_FOLLOW / $READY_PLAIN" | bc -l)"
  printf "%-58s %8s\n" "primary under pgbench -c4 -j2, ${SECONDS_PER_RUN} s x $ROUNDS (median)" "TPS"
  printf "%-58s %8d\n" "  nothing following" "$TPS_WITHOUT"
  printf "%-58s %8d\n" "  pgd following (streaming, archiving what arrives)" "$TPS_WITH"
  echo "replay lag seen by the primary while following ($LAG_N samples): median $LAG_MEDIAN ms, max $LAG_MAX ms"
}
echo
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Following a primary (bench/follow.sh)"; echo; echo '```'; report; echo '```'; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  json_obj ready_follow_ms "$READY_FOLLOW" ready_plain_ms "$READY_PLAIN" tps_without "$TPS_WITHOUT" \
    tps_with "$TPS_WITH" lag_median_ms "$LAG_MEDIAN" lag_max_ms "$LAG_MAX" lag_samples "$LAG_N" \
    scale "$SCALE" rounds "$ROUNDS" | bench_json "$BENCH_JSON" '.[0]'
fi
