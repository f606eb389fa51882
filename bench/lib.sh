# Shared by the benchmark scripts: a fresh loop-mounted pool in a temp dir
# (pgd's default filesystem, or BENCH_FS=btrfs|xfs) with its own PGD_HOME, removed (servers stopped, pool unmounted) on exit.
# Usage: source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
set -euo pipefail
PGD=$(realpath "${1:-build/pgd}")
PGBIN=/usr/lib/postgresql/15/bin
# Output files named relative to the caller's directory: a script may cd to $T.
[ -n "${BENCH_JSON:-}" ] && BENCH_JSON=$(realpath -m "$BENCH_JSON")
[ -n "${BENCH_REPORT:-}" ] && BENCH_REPORT=$(realpath -m "$BENCH_REPORT")
[ "$(id -u)" -eq 0 ] || { echo "run as root (it mounts a pool)"; exit 1; }

T=$(mktemp -d /tmp/pgd-bench.XXXXXX)
chmod 755 "$T"
export PGD_HOME=$T/home
MNT=$PGD_HOME/pool
export PGPASSFILE=$T/pgpass
# No Kerberos here: spare every client (pgd's, by hand, pgbench) libpq's GSSAPI probe.
export PGGSSENCMODE=disable
EXTRA_CLEANUP=${EXTRA_CLEANUP:-true}
bench_cleanup() {
  set +e
  eval "$EXTRA_CLEANUP"
  "$PGD" setup --detach >/dev/null 2>&1
  mountpoint -q "$MNT" && umount "$MNT"
  rm -rf "$T"
}
trap bench_cleanup EXIT

# Bash's own clock: a `date` process would add its ~1.5 ms to every figure it ends.
now_ms() { local us=${EPOCHREALTIME/[.,]/}; echo $(( us / 1000 )); }
# json_obj KEY VALUE ...: one JSON object on one line, built by jq (no string
# splicing); a value that reads as a number becomes one, anything else a string.
json_obj() {
  local args=() filter="" i=0
  while [ $# -gt 1 ]; do
    args+=(--arg "k$i" "$1" --arg "v$i" "$2")
    filter+="${filter:+, }(\$k$i): (\$v$i | tonumber? // .)"
    shift 2; i=$((i + 1))
  done
  jq -cn "${args[@]}" "{$filter}"
}
# bench_json FILE JQ-FILTER [jq options]: the JSON objects on stdin, as an
# array `.`, turned by FILTER into the results file FILE.
bench_json() {
  local file=$1 filter=$2; shift 2
  jq -s "$@" "$filter" >"$file"
}
stats() {  # prints "n median p95 max" of the numbers on stdin
  sort -n | awk '{a[NR]=$1} END {p=int(NR*0.95+0.5); if (p<1) p=1; printf "%d %d %d %d\n", NR, a[int((NR+1)/2)], a[p], a[NR]}'
}
tps_windows() {  # pgbench -P 1's stderr on stdin; prints "windows median worst" of its per-second TPS
  awk '/^progress:/ {print int($4)}' | sort -n |
    awk '{a[NR]=$1} END {printf "%d %d %d\n", NR, a[int((NR+1)/2)], a[1]}'
}
q() { "$PGBIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -XtAq -c "$2"; }
machine() {
  echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r), $(date -u +%F)"
}
# A pool of SIZE with project NAME whose password psql and pgbench read from $PGPASSFILE.
bench_project() {  # SIZE NAME
  # shellcheck disable=SC2046
  "$PGD" setup --pool-file "$T/pool.img" --size "$1" $([ -n "${BENCH_FS:-}" ] && echo --fs "$BENCH_FS") >/dev/null
  "$PGD" project create "$2" >/dev/null
  (umask 077; echo "127.0.0.1:*:*:postgres:$("$PGD" branch password "$2/main")" >"$PGPASSFILE")
}
# One busy round: pgbench -c 4 -j 2 on the source SOURCE_REF (at PORT), and from its 4th
# second a branch PREFIX1..PREFIXn of it every ~4 s (n = COUNT, default 5; pgbench runs
# 4n + 8 s, 28 for 5). Leaves in $T: progress.txt (pgbench -P 1), ready.txt (branch-ready
# ms) and pgd's phase times checkpoint.txt, snapshot.txt, start.txt.
busy_round() {  # SOURCE_REF PORT PREFIX [COUNT]
  local count=${4:-5}
  "$PGBIN/pgbench" -n -c 4 -j 2 -T $(( count * 4 + 8 )) -P 1 -h 127.0.0.1 -p "$2" -U postgres postgres \
    >/dev/null 2>"$T/progress.txt" &
  local busy=$! i t0 out port ckpt snap start
  sleep 4
  : >"$T/ready.txt"; : >"$T/checkpoint.txt"; : >"$T/snapshot.txt"; : >"$T/start.txt"
  for i in $(seq 1 "$count"); do
    t0=$(now_ms)
    out=$("$PGD" branch create "$3$i" --from "$1" --json)
    [[ $out =~ \"port\":\ ([0-9]+) ]] && port=${BASH_REMATCH[1]}
    q "$port" "SELECT 1" >/dev/null
    echo $(( $(now_ms) - t0 )) >>"$T/ready.txt"
    read -r ckpt snap start < <(jq -r '.timings_ms | [.checkpoint, .snapshot, .start] | map(floor) | @tsv' <<<"$out")
    echo "$ckpt" >>"$T/checkpoint.txt"; echo "$snap" >>"$T/snapshot.txt"; echo "$start" >>"$T/start.txt"
    sleep 3
  done
  wait "$busy" || true
}
# After busy_round: "windows TPS-median TPS-worst ready-median checkpoint/snapshot/start-medians"
busy_summary() {
  local n tps_med tps_worst ready phases="" ph m
  read -r n tps_med tps_worst < <(tps_windows <"$T/progress.txt")
  read -r _ ready _ _ < <(stats <"$T/ready.txt")
  for ph in checkpoint snapshot start; do read -r _ m _ _ < <(stats <"$T/$ph.txt"); phases+="${phases:+/}$m"; done
  echo "$n $tps_med $tps_worst $ready $phases"
}
