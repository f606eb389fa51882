#!/usr/bin/env bash
# pgd serve (issue 19), all in one run:
#  - Wake: connect-to-first-answer (psql over TCP, a SELECT) of a sleeping
#    scale-BENCH_SCALE branch, alternating with the same psql against a branch
#    that is awake, BENCH_WAKES times each: the wake's cost is the difference.
#  - Through the daemon: pgbench -c 4 -j 2 select-only and tpcb-like against the
#    published port (its connections steered to the server by the kernel, or
#    relayed where it cannot: the report says which) and directly against the
#    same server's private port,
#    alternating, BENCH_ROUNDS rounds of BENCH_SECONDS: TPS and p95 latency.
#  - Many: BENCH_MANY branches of a scale-10 project in the same pool, each
#    asleep after its creation, then BENCH_AWAKE of them woken: memory (PSS) of
#    the daemon and every postmaster, `pgd status` time, and wake and
#    branch-ready time of the last branches against the first.
# Usage: sudo bash bench/serve.sh [build/pgd]
# Env: BENCH_SCALE (100), BENCH_WAKES (20), BENCH_ROUNDS (4), BENCH_SECONDS (15),
#      BENCH_MANY (1000), BENCH_AWAKE (20)
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
SCALE=${BENCH_SCALE:-100} WAKES=${BENCH_WAKES:-20} ROUNDS=${BENCH_ROUNDS:-4}
SECONDS_PER_RUN=${BENCH_SECONDS:-15} MANY=${BENCH_MANY:-1000} AWAKE=${BENCH_AWAKE:-20}
SERVE_PID=""
stop_daemon() { [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" && wait "$SERVE_PID"; SERVE_PID=""; return 0; }
EXTRA_CLEANUP=stop_daemon

bench_project 40G shop
port_of() { "$PGD" branch get "$1" --json | jq -r .port; }
status_of() { "$PGD" branch get "$1" --json | jq -r .status; }
MAIN_PORT=$(port_of shop/main)
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$MAIN_PORT" -U postgres postgres >/dev/null 2>&1
q "$MAIN_PORT" "VACUUM ANALYZE" >/dev/null
q "$MAIN_PORT" "CHECKPOINT" >/dev/null
"$PGD" branch create shop/sleepy >/dev/null
"$PGD" branch create shop/awake >/dev/null
SLEEPY_PORT=$(port_of shop/sleepy) AWAKE_PORT=$(port_of shop/awake)
# The project's password is the same for every branch: $PGPASSFILE serves them all.

PGD_SERVE_TICK_MS=100 "$PGD" serve --log "$T/serve.log" &
SERVE_PID=$!
wait_status() {  # branch status, up to 60 s
  for _ in $(seq 1 600); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1 to be $2" >&2; exit 1
}
"$PGD" branch set shop/awake --idle-stop never >/dev/null
"$PGD" branch set shop/sleepy --idle-stop 1s >/dev/null
wait_status shop/sleepy sleeping

# --- Wake against a plain connection, alternately --------------------------------
: >"$T/wake.txt"
for i in $(seq 1 "$WAKES"); do
  wait_status shop/sleepy sleeping
  t0=$(now_ms); q "$SLEEPY_PORT" "SELECT count(*) FROM pgbench_branches" >/dev/null
  echo "wake $(( $(now_ms) - t0 ))" >>"$T/wake.txt"
  t0=$(now_ms); q "$AWAKE_PORT" "SELECT count(*) FROM pgbench_branches" >/dev/null
  echo "plain $(( $(now_ms) - t0 ))" >>"$T/wake.txt"
done
pick() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
read -r _ WAKE_MED WAKE_P95 _ < <(pick wake "$T/wake.txt" | stats)
read -r _ PLAIN_MED PLAIN_P95 _ < <(pick plain "$T/wake.txt" | stats)
"$PGD" branch set shop/sleepy --idle-stop never >/dev/null

# --- pgbench through the daemon and direct, alternately ---------------------------
if grep -q "go straight to their servers" "$T/serve.log"; then PATH_TAKEN="steered by the kernel (BPF sk_lookup)"
else PATH_TAKEN="relayed by the daemon ($(grep -m1 -o "relaying every connection.*" "$T/serve.log"))"; fi
PRIVATE_PORT=$(sed -n 4p "$MNT/shop/awake/postmaster.pid")
# A clone shares main's blocks on disk but not its page cache: read its files
# once (sequentially), or the first rounds measure this VM's disk, not the path.
find "$MNT/shop/awake" -type f -exec cat {} + >/dev/null
: >"$T/pgbench.txt"
p95_of_logs() {  # pgbench -l files (column 3: latency in us) -> p95 in us
  cat "$@" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.95+0.5)]}'
}
# One workload at a time (select-only first: tpcb-like's writes would tax
# whatever ran after them), the order of the pair swapped every round, and a
# checkpoint before each run, so that neither side inherits the other's
# writeback.
for mode in "-S" "-b tpcb-like"; do
  for round in $(seq 1 "$ROUNDS"); do
    order=$([ $((round % 2)) -eq 1 ] && echo "daemon direct" || echo "direct daemon")
    for via in $order; do
      port=$([ "$via" = daemon ] && echo "$AWAKE_PORT" || echo "$PRIVATE_PORT")
      q "$PRIVATE_PORT" "CHECKPOINT" >/dev/null
      rm -rf "$T/lat" && mkdir "$T/lat"
      # shellcheck disable=SC2086
      tps=$(cd "$T/lat" && "$PGBIN/pgbench" -n $mode -c 4 -j 2 -T "$SECONDS_PER_RUN" -l \
              -h 127.0.0.1 -p "$port" -U postgres postgres 2>/dev/null | awk '/^tps/ {print int($3); exit}')
      p95=$(p95_of_logs "$T"/lat/pgbench_log.*)
      name=$([ "$mode" = "-S" ] && echo select || echo tpcb)
      echo "$name $via $tps $p95" >>"$T/pgbench.txt"
      echo "round $round: $name via $via: $tps TPS, p95 $p95 us" >&2
    done
  done
done
median_of() { awk -v n="$1" -v v="$2" -v c="$3" '$1 == n && $2 == v {print $c}' "$T/pgbench.txt" | stats | awk '{print $2}'; }
for name in select tpcb; do
  for via in daemon direct; do
    declare "TPS_${name}_${via}=$(median_of "$name" "$via" 3)"
    declare "P95_${name}_${via}=$(median_of "$name" "$via" 4)"
  done
done

# --- Many branches: BENCH_MANY asleep, BENCH_AWAKE awake ---------------------------
"$PGD" project create many >/dev/null
MANY_MAIN=$(port_of many/main)
(umask 077; echo "127.0.0.1:*:*:postgres:$("$PGD" branch password many/main)" >>"$PGPASSFILE")
"$PGBIN/pgbench" -i -q -s 10 -h 127.0.0.1 -p "$MANY_MAIN" -U postgres postgres >/dev/null 2>&1
q "$MANY_MAIN" "CHECKPOINT" >/dev/null
"$PGD" project set many --idle-stop 2s >/dev/null
: >"$T/ready_many.txt"
for i in $(seq 1 "$MANY"); do
  # The first and last 20 are measured alike, each once every earlier branch
  # sleeps and the page cache is written back: an idle stop (a shutdown
  # checkpoint, under the project's lock) beside a create would time the stop,
  # and the writeback of the creates of the last 30 s (their new WAL) lands on
  # the next snapshot's transaction commit: 6 ms became 20 at a create every
  # 0.3 s, whatever the number of branches (docs/benchmarks.md).
  if [ "$i" -gt 1 ] && { [ "$i" -le 20 ] || [ "$i" -gt $((MANY - 20)) ]; }; then
    wait_status "many/b$((i - 1))" sleeping
    sync
  fi
  t0=$(now_ms)
  port=$("$PGD" branch create "many/b$i" --json | jq -r .port)
  q "$port" "SELECT 1" >/dev/null
  echo "$i $(( $(now_ms) - t0 ))" >>"$T/ready_many.txt"
  [ $((i % 100)) -eq 0 ] && echo "created $i of $MANY" >&2
done
for _ in $(seq 1 600); do  # every branch asleep
  awake=$("$PGD" status --no-size --json | jq '[.projects[] | select(.name == "many") | .branches[] | select(.status == "running")] | length')
  [ "$awake" -le 1 ] && break
  sleep 1
done
"$PGD" project set many --idle-stop never >/dev/null
first_last() {  # FILE -> "median-of-first-20 median-of-last-20"
  local first last
  first=$(head -n 20 "$1" | awk '{print $2}' | stats | awk '{print $2}')
  last=$(tail -n 20 "$1" | awk '{print $2}' | stats | awk '{print $2}')
  echo "$first $last"
}
read -r READY_FIRST READY_LAST < <(first_last "$T/ready_many.txt")
: >"$T/wake_many.txt"
woken=""
for i in $(seq 1 $((AWAKE / 2))) $(seq $((MANY - AWAKE / 2 + 1)) "$MANY"); do
  port=$(port_of "many/b$i")
  t0=$(now_ms); q "$port" "SELECT 1" >/dev/null
  echo "$i $(( $(now_ms) - t0 ))" >>"$T/wake_many.txt"
done
WAKE_FIRST=$(head -n $((AWAKE / 2)) "$T/wake_many.txt" | awk '{print $2}' | stats | awk '{print $2}')
WAKE_LAST=$(tail -n $((AWAKE / 2)) "$T/wake_many.txt" | awk '{print $2}' | stats | awk '{print $2}')
# The daemon's own CPU with every branch served and nobody connecting, over
# 10 s, at this bench's 100 ms tick (10 times the default's work).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }
c0=$(cpu_ticks); sleep 10; c1=$(cpu_ticks)
IDLE_CPU_PCT=$(echo "scale=1; ($c1 - $c0) * 100 / $(getconf CLK_TCK) / 10" | bc -l)
t0=$(now_ms); "$PGD" status >/dev/null; STATUS_MS=$(( $(now_ms) - t0 ))
t0=$(now_ms); "$PGD" status --size >/dev/null; STATUS_SIZE_MS=$(( $(now_ms) - t0 ))
pss_kib() {  # total PSS of the daemon and every postmaster family on this pool
  local pids
  pids="$SERVE_PID $(ps -u pgd -o pid=)"
  for p in $pids; do awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null; done | awk '{s += $1} END {print s}'
}
RUNNING=$(ps -u pgd -o args= | grep -c "^/usr/lib/postgresql/15/bin/postgres -D $MNT/" || true)
MEM_MIB=$(( $(pss_kib) / 1024 ))
DAEMON_MIB=$(( $(awk '/^Pss:/ {print $2}' "/proc/$SERVE_PID/smaps_rollup") / 1024 ))

report() {
  machine
  echo "# a scale-$SCALE project; pgd serve in front of every branch"
  printf "%-62s %6s %6s\n" "connect to first answer (psql, TCP), $WAKES each, alternating" "median" "p95"
  printf "%-62s %6d %6d\n" "  a sleeping branch (wake)" "$WAKE_MED" "$WAKE_P95"
  printf "%-62s %6d %6d\n" "  an awake branch (the floor)" "$PLAIN_MED" "$PLAIN_P95"
  echo "  the wake adds $(( WAKE_MED - PLAIN_MED )) ms (medians)"
  echo "# pgbench's connections to the published port: $PATH_TAKEN"
  printf "%-62s %8s %8s %7s\n" "pgbench -c4 -j2, ${SECONDS_PER_RUN} s x $ROUNDS (median)" "TPS" "p95 us" "ratio"
  for name in select tpcb; do
    for via in daemon direct; do
      local tps p95 base
      tps=$(eval echo "\$TPS_${name}_${via}"); p95=$(eval echo "\$P95_${name}_${via}")
      base=$(eval echo "\$TPS_${name}_direct")
      printf "%-62s %8d %8d %7s\n" "  $([ "$name" = select ] && echo select-only || echo tpcb-like) via $via" "$tps" "$p95" "$(echo "scale=2; $tps / $base" | bc -l)"
    done
  done
  echo "# $MANY branches of a scale-10 project, $AWAKE woken, $RUNNING postmasters running"
  printf "%-62s %8d\n" "memory of pgd serve and every postmaster (PSS, MiB)" "$MEM_MIB"
  printf "%-62s %8d\n" "  of which pgd serve" "$DAEMON_MIB"
  printf "%-62s %8s\n" "pgd serve's CPU, nobody connecting, 100 ms tick (% of a core)" "$IDLE_CPU_PCT"
  printf "%-62s %8d\n" "pgd status (ms; sizes skipped past 100 branches)" "$STATUS_MS"
  printf "%-62s %8d\n" "pgd status --size (ms; every branch's extents walked)" "$STATUS_SIZE_MS"
  printf "%-62s %8d %8d\n" "wake, first and last $((AWAKE / 2)) branches (median ms)" "$WAKE_FIRST" "$WAKE_LAST"
  printf "%-62s %8d %8d\n" "branch-ready, first and last 20 creates (median ms)" "$READY_FIRST" "$READY_LAST"
}
echo
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## pgd serve (bench/serve.sh)"; echo; echo '```'; report; echo '```'; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  json_obj wake_median_ms "$WAKE_MED" wake_p95_ms "$WAKE_P95" plain_median_ms "$PLAIN_MED" pgbench_path "$PATH_TAKEN" \
    tps_select_daemon "$TPS_select_daemon" tps_select_direct "$TPS_select_direct" \
    tps_tpcb_daemon "$TPS_tpcb_daemon" tps_tpcb_direct "$TPS_tpcb_direct" \
    p95_us_select_daemon "$P95_select_daemon" p95_us_select_direct "$P95_select_direct" \
    p95_us_tpcb_daemon "$P95_tpcb_daemon" p95_us_tpcb_direct "$P95_tpcb_direct" \
    many "$MANY" awake "$AWAKE" running "$RUNNING" memory_mib "$MEM_MIB" idle_cpu_pct "$IDLE_CPU_PCT" status_ms "$STATUS_MS" status_size_ms "$STATUS_SIZE_MS" \
    wake_first_ms "$WAKE_FIRST" wake_last_ms "$WAKE_LAST" ready_first_ms "$READY_FIRST" \
    ready_last_ms "$READY_LAST" | bench_json "$BENCH_JSON" '.[0]'
fi
