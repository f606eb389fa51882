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

# Eight pgd processes at once, creating and deleting branches of one project:
# each succeeds or fails with a clear message; afterwards state, subvolumes and
# processes agree.
pgd branch create busy/d1 >/dev/null
pgd branch create busy/d2 >/dev/null
pgd branch create busy/d3 >/dev/null
jobs_=()
for i in 1 2 3 4 5; do
  "$PGD" branch create "busy/n$i" >"$T/n$i.out" 2>"$T/n$i.err" & jobs_+=($!)
done
for b in d1 d2 d3; do
  "$PGD" branch delete "busy/$b" >"$T/$b.out" 2>"$T/$b.err" & jobs_+=($!)
done
failures=0
for pid in "${jobs_[@]}"; do wait "$pid" || failures=$((failures + 1)); done
for f in "$T"/n*.err "$T"/d*.err; do
  [ -s "$f" ] || continue
  grep -q "^pgd: error: " "$f" || fail "an unclear failure: $(cat "$f")"
done
assert_eq "$failures" "0" "eight concurrent creates and deletes all succeed"
for i in 1 2 3 4 5; do assert_eq "$(sql "busy/n$i" "SELECT count(*) FROM t")" "5000" "data in n$i"; done
for b in d1 d2 d3; do pgd branch get "busy/$b" >/dev/null 2>&1 && fail "busy/$b survived its delete"; done
recorded=$(pgd branch list --json | jq -r '.[].data_dir' | sort)
on_disk=$(pool_volumes | grep -v '@')  # branches' data, not their base snapshots
assert_eq "$on_disk" "$recorded" "subvolumes = records"
postmasters=$(pool_postmasters)
assert_eq "$postmasters" "$recorded" "one postmaster per branch"
assert_eq "$(pgd branch list --json | jq '[.[].port] | unique | length')" \
  "$(pgd branch list --json | jq length)" "ports unique"
expect_exit 0 pgd doctor
pass "eight concurrent processes: all succeed; state, subvolumes and processes agree"
