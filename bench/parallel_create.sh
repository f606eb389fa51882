#!/usr/bin/env bash
# Concurrent creates (issue 25): for N in BENCH_NS, N `pgd branch create` of a
# scale-10 project's main launched at once, each followed by a first query
# (psql, TCP): each one's time from its launch to the answer. Beside it, the
# same N creates one after another (what a queue would give each: its place in
# line times one create). A warm-up create comes first, so that no figure pays
# the CHECKPOINT of freshly loaded data; the branches of each N are deleted
# before the next.
# Usage: sudo bash bench/parallel_create.sh [build/pgd]
# Env: BENCH_NS ("1 2 8 32 128")
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
NS=${BENCH_NS:-1 2 8 32 128}

bench_project 40G fleet
port_of() { "$PGD" branch get "$1" --json | jq -r .port; }
MAIN_PORT=$(port_of fleet/main)
"$PGBIN/pgbench" -i -q -s 10 -h 127.0.0.1 -p "$MAIN_PORT" -U postgres postgres >/dev/null 2>&1
"$PGD" branch create fleet/warmup >/dev/null
"$PGD" branch delete fleet/warmup >/dev/null

one_create() {  # NAME OUTFILE: launch to first answer, in ms
  local t0 out port
  t0=$(now_ms)
  out=$("$PGD" branch create "fleet/$1" --json) || { echo "create $1 failed" >&2; echo "FAIL" >"$2"; return 1; }
  [[ $out =~ \"port\":\ ([0-9]+) ]] && port=${BASH_REMATCH[1]}
  q "$port" "SELECT 1" >/dev/null
  echo $(( $(now_ms) - t0 )) >"$2"
}
delete_all() {  # N PREFIX
  local i pids=()
  for i in $(seq 1 "$1"); do "$PGD" branch delete "fleet/$2$i" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
}

: >"$T/results.txt"
for n in $NS; do
  # At once.
  rm -rf "$T/at" && mkdir "$T/at"
  pids=()
  for i in $(seq 1 "$n"); do one_create "c$i" "$T/at/$i" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || true; done
  failed=$(cat "$T"/at/* | grep -c FAIL || true)
  read -r _ AT_MED AT_P95 AT_MAX < <(cat "$T"/at/* | grep -v FAIL | stats)
  delete_all "$n" c
  # One after another: each create's time counted from the start of the first,
  # as if all had been launched at once and queued.
  rm -rf "$T/seq" && mkdir "$T/seq"
  t_start=$(now_ms)
  for i in $(seq 1 "$n"); do
    one_create "s$i" "$T/seq/one"
    echo $(( $(now_ms) - t_start )) >"$T/seq/$i"
  done
  rm -f "$T/seq/one"
  read -r _ SEQ_MED SEQ_P95 SEQ_MAX < <(cat "$T"/seq/* | stats)
  delete_all "$n" s
  echo "$n $AT_MED $AT_P95 $AT_MAX $SEQ_MED $SEQ_P95 $SEQ_MAX $failed" >>"$T/results.txt"
  echo "N=$n at once: median $AT_MED, p95 $AT_P95, max $AT_MAX ms ($failed failed); one after another: median $SEQ_MED, p95 $SEQ_P95, max $SEQ_MAX ms" >&2
done

report() {
  machine
  echo "# N creates of a scale-10 main, each to its first answer (ms); 'in line': the same N one after another, from the first's start"
  printf "%6s %10s %8s %8s %12s %10s %10s %7s\n" N median p95 max "in line med" "in line p95" "in line max" failed
  while read -r n am ap ax sm sp sx f; do
    printf "%6d %10d %8d %8d %12d %10d %10d %7d\n" "$n" "$am" "$ap" "$ax" "$sm" "$sp" "$sx" "$f"
  done <"$T/results.txt"
}
echo
report
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## Concurrent creates (bench/parallel_create.sh)"; echo; echo '```'; report; echo '```'; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  while read -r n am ap ax sm sp sx f; do
    json_obj n "$n" median_ms "$am" p95_ms "$ap" max_ms "$ax" in_line_median_ms "$sm" in_line_p95_ms "$sp" \
      in_line_max_ms "$sx" failed "$f"
  done <"$T/results.txt" | bench_json "$BENCH_JSON" '.'
fi
