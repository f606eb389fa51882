#!/usr/bin/env bash
# Does a PostgreSQL setting of a busy source change what branching it costs?
# busy_aging.sh shows that each round ages the source (every figure gets worse
# with its fragmentation), so settings compared round after round on one source
# compare ages as much as settings. Here every round gets a source of its own: a
# fresh branch of one loaded, stopped source, so every round starts from the same
# blocks. The variants alternate (A B A B ...); each round is busy_aging.sh's:
# 28 s of pgbench -c 4 -j 2 on the source, 5 branches of it, ~4 s apart. The
# branches inherit the variant (it is in the source's postgresql.auto.conf).
# Usage: sudo bash bench/busy_settings.sh [path/to/pgd]   (~70 s per round)
# Env: BENCH_VARIANTS  variants separated by ';', each "default" (pgd's settings) or
#                      settings "name=value,name=value" for ALTER SYSTEM
#                      (default: "default;checkpoint_flush_after=0")
#      BENCH_ROUNDS    rounds per variant (default 3)
VARIANTS=${BENCH_VARIANTS:-default;checkpoint_flush_after=0}
ROUNDS=${BENCH_ROUNDS:-3}
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"

bench_project 40G bench
main_port=$("$PGD" branch get bench/main --json | jq -r .port)
"$PGBIN/pgbench" -i -q -s 100 -h 127.0.0.1 -p "$main_port" -U postgres postgres >/dev/null 2>&1
q "$main_port" "CHECKPOINT"
"$PGD" stop bench/main >/dev/null

# A source for one round: a branch of the stopped main with the variant's
# settings, its files read once and 8 s of pgbench run on it (a warm cache and
# dirty buffers, as a source that has been working), then a CHECKPOINT.
source_for() {  # NAME VARIANT -> prints its port
  local port data kv
  "$PGD" branch create "$1" --from bench/main >/dev/null
  read -r port data < <("$PGD" branch get "$1" --json | jq -r '"\(.port) \(.data_dir)"')
  if [ "$2" != default ]; then
    IFS=, read -ra kv <<<"$2"
    for s in "${kv[@]}"; do q "$port" "ALTER SYSTEM SET ${s%%=*} = '${s#*=}'"; done
    "$PGD" restart "$1" >/dev/null
  fi
  cat "$data"/base/*/* >/dev/null
  "$PGBIN/pgbench" -n -c 4 -j 2 -T 8 -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
  q "$port" "CHECKPOINT"
  echo "$port"
}

{
machine
echo "# pgbench scale 100; each round: a fresh source (branch of one loaded source), 28 s of"
echo "# pgbench -c4 -j2 on it, 5 branches; variants alternate"
printf "%-5s %-36s %8s %7s %7s %10s %s\n" round variant "TPS med" worst worst% "ready med" \
  "phases ms: checkpoint/snapshot/start (med)"
} | tee "$T/table.txt"
IFS=';' read -ra VS <<<"$VARIANTS"
k=0
for r in $(seq 1 "$ROUNDS"); do
  for v in "${VS[@]}"; do
    k=$((k + 1))
    port=$(source_for "bench/s$k" "$v")
    busy_round "bench/s$k" "$port" "bench/s${k}b"
    read -r _ tps_med tps_worst ready phases < <(busy_summary)
    printf "%-5s %-36s %8d %7d %6d%% %10d %s\n" "$r" "$v" "$tps_med" "$tps_worst" \
      $(( tps_worst * 100 / tps_med )) "$ready" "$phases" | tee -a "$T/table.txt"
    echo "$v $(( tps_worst * 100 / tps_med )) $ready" >>"$T/summary.txt"
    for i in 1 2 3 4 5; do "$PGD" branch delete "bench/s${k}b$i" >/dev/null; done
    "$PGD" branch delete "bench/s$k" >/dev/null
    # The next round must not pay for btrfs freeing this one's blocks.
    [ "$(stat -f -c %T "$MNT")" = btrfs ] && btrfs subvolume sync "$MNT" >/dev/null
  done
done
echo
echo "per variant, medians over its $ROUNDS rounds:"
for v in "${VS[@]}"; do
  read -r _ worst _ _ < <(awk -v v="$v" '$1 == v {print $2}' "$T/summary.txt" | stats)
  read -r _ ready _ _ < <(awk -v v="$v" '$1 == v {print $3}' "$T/summary.txt" | stats)
  printf "  %-36s worst window %3d%% of median TPS, branch-ready %5d ms\n" "$v" "$worst" "$ready"
done
