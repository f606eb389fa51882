#!/usr/bin/env bash
# Concurrent branch creates of one project all succeed, each with its own port and data.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create busy >/dev/null
sql busy/main "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 5000)"

pids=()
for i in 1 2 3 4; do
  "$PGD" branch create "busy/c$i" --json >"$T/c$i.json" 2>"$T/c$i.err" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "concurrent create c$((i + 1)) failed: $(cat "$T/c$((i + 1)).err")"
done
ports=$(for i in 1 2 3 4; do jq -r .port "$T/c$i.json"; done | sort -u | wc -l)
assert_eq "$ports" "4" "distinct ports"
for i in 1 2 3 4; do
  assert_eq "$(sql "busy/c$i" "SELECT count(*) FROM t")" "5000" "data in c$i"
done
pass "four concurrent creates succeed with distinct ports"

# Two creates of the same name at once: exactly one wins, the other fails cleanly.
"$PGD" branch create busy/same >/dev/null 2>"$T/s1.err" & a=$!
"$PGD" branch create busy/same >/dev/null 2>"$T/s2.err" & b=$!
ok=0
wait $a && ok=$((ok + 1))
wait $b && ok=$((ok + 1))
assert_eq "$ok" "1" "exactly one create of the same name succeeds"
cat "$T/s1.err" "$T/s2.err" | grep -q "already exists" || fail "the loser says why"
assert_eq "$(sql busy/same "SELECT count(*) FROM t")" "5000" "the winner works"
expect_exit 0 pgd doctor
pass "racing creates of one name: one wins, state stays consistent"
