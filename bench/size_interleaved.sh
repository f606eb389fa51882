#!/usr/bin/env bash
# Does branch-ready time grow with the data? A 1.5 GB (pgbench scale 100) and a
# 15 GB (scale 1000) project in one pool, branches created alternately from
# each, so that this VM's drift over minutes (10-20%) falls on both sizes alike;
# branch_ready.sh measures the two sizes in separate runs, minutes apart.
# Usage: sudo bash bench/size_interleaved.sh [path/to/pgd]   (~4 min, ~25 GB of disk)
# Env: BENCH_BRANCHES (default 20 per size), BENCH_LARGE_SCALE (default 1000),
#      BENCH_JSON=FILE, BENCH_REPORT=FILE (Markdown section, as run_all.sh uses).
N=${BENCH_BRANCHES:-20}
LARGE=${BENCH_LARGE_SCALE:-1000}
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"

bench_project 60G small
"$PGD" project create large >/dev/null
declare -A PORT PW
for p in small large; do
  PORT[$p]=$("$PGD" branch get "$p/main" --json | jq -r .port)
  PW[$p]=$("$PGD" branch password "$p/main")
done
# Each project has its own password: one pgpass line per main's port for loading;
# the branches' first queries get theirs from the environment (outside the timing).
(umask 077; for p in small large; do echo "127.0.0.1:${PORT[$p]}:*:postgres:${PW[$p]}"; done >"$PGPASSFILE")
for p in small large; do
  scale=100; [ "$p" = large ] && scale=$LARGE
  "$PGBIN/pgbench" -i -q -s "$scale" -h 127.0.0.1 -p "${PORT[$p]}" -U postgres postgres >/dev/null 2>&1
  q "${PORT[$p]}" "CHECKPOINT"
done
sizes="$(q "${PORT[small]}" "SELECT pg_size_pretty(pg_database_size('postgres'))") and $(q "${PORT[large]}" "SELECT pg_size_pretty(pg_database_size('postgres'))")"

: >"$T/times.txt"
for i in $(seq 1 "$N"); do
  for p in small large; do
    pw=${PW[$p]}
    t0=$(now_ms)
    out=$("$PGD" branch create "$p/b$i" --json)
    [[ $out =~ \"port\":\ ([0-9]+) ]] && port=${BASH_REMATCH[1]}
    PGPASSWORD=$pw "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XtAq -c "SELECT 1" >/dev/null
    echo "$p $(( $(now_ms) - t0 ))" >>"$T/times.txt"
  done
done
median() { awk -v p="$1" '$1 == p {print $2}' "$T/times.txt" | stats | cut -d' ' -f2; }
small=$(median small) large=$(median large)
{
  machine
  echo "# pgbench scale 100 and $LARGE in one pool ($sizes); $N branches of each, alternating"
  echo "branch-ready median, scale 100: $small ms; scale $LARGE: $large ms ($(( large * 100 / small ))%)"
} | tee "$T/table.txt"
if [ -n "${BENCH_JSON:-}" ]; then
  printf '{"small_scale": 100, "large_scale": %s, "branches": %s, "small_median_ms": %s, "large_median_ms": %s}\n' \
    "$LARGE" "$N" "$small" "$large" >"$BENCH_JSON"
fi
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Branch-ready time by size, interleaved (bench/size_interleaved.sh)"; echo; echo '```'; cat "$T/table.txt"; echo '```'; echo; } >>"$BENCH_REPORT"
fi
