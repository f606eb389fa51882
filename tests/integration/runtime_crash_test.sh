#!/usr/bin/env bash
# Branches run on no-copy-on-write files with PostgreSQL's page checksums: prove
# that a postmaster killed with SIGKILL in the middle of pgbench comes back
# without corruption — pg_amcheck (heap and all indexes), pg_checksums over every
# page, and pgbench's balance invariants — several times over, and that the
# parent is untouched.
source "$(dirname "$0")/lib.sh"
PGBIN=/usr/lib/postgresql/15/bin
setup_pool 4G

pgd project create rc >/dev/null
main_port=$(port_of rc/main)
PGPASSWORD=$(pgd branch password rc/main) "$PGBIN/pgbench" -i -q -s 5 -h 127.0.0.1 -p "$main_port" \
  -U postgres postgres >/dev/null 2>&1
pgd branch create rc/b >/dev/null
data=$MNT/rc/b
if [ "$TEST_FS" = btrfs ]; then
  [[ "$(lsattr -d "$data")" == *C* ]] || fail "branch data directory is not no-COW"
fi
assert_eq "$(sql rc/b "SHOW data_checksums")" "on" "data checksums"
# The crashes below are also crashes of a server that leaves its checkpoint's writeback to the fsync.
assert_eq "$(sql rc/b "SHOW checkpoint_flush_after")" "0" "checkpoint_flush_after"
pass "branches rewrite in place ($TEST_FS) with page checksums, checkpoint writeback at fsync"

invariants() {  # BRANCH: the four balances agree (every pgbench transaction moves all four)
  sql "$1" "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(bbalance) FROM pgbench_branches)
            AND (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(tbalance) FROM pgbench_tellers)
            AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
}

# Processes of the branch's cluster (orphaned backends exit soon after the postmaster).
cluster_procs() { ps -u pgd -o args= | grep -cF "pgd rc/b" || true; }

port=$(port_of rc/b)
password=$(pgd branch password rc/b)
for round in 1 2 3; do
  PGPASSWORD=$password "$PGBIN/pgbench" -n -c 4 -j 2 -T 60 -h 127.0.0.1 -p "$port" -U postgres postgres \
    >/dev/null 2>&1 &
  bench=$!
  sleep $((1 + round))
  before=$(sql rc/b "SELECT count(*) FROM pgbench_history")
  pid=$(head -n1 "$data/postmaster.pid")
  kill -KILL "$pid"
  wait "$bench" || true
  for _ in $(seq 1 100); do [ "$(cluster_procs)" -eq 0 ] && break; sleep 0.1; done
  pgd start rc/b >/dev/null
  after=$(sql rc/b "SELECT count(*) FROM pgbench_history")
  [ "$after" -ge "$before" ] || fail "round $round: committed history rows lost ($before -> $after)"
  assert_eq "$(invariants rc/b)" "t" "round $round: pgbench balance invariants"
  PGPASSWORD=$password "$PGBIN/pg_amcheck" --heapallindexed --install-missing \
    -h 127.0.0.1 -p "$port" -U postgres postgres >"$T/amcheck.txt" 2>&1 ||
    fail "round $round: pg_amcheck found corruption: $(cat "$T/amcheck.txt")"
  pass "round $round: SIGKILL during pgbench ($after history rows), recovery, amcheck clean"
done

pgd stop rc/b >/dev/null
runuser -u pgd -- "$PGBIN/pg_checksums" --check -D "$data" >"$T/checksums.txt" 2>&1 ||
  fail "pg_checksums: $(cat "$T/checksums.txt")"
assert_contains "$(cat "$T/checksums.txt")" "Bad checksums:  0" "pg_checksums"
pgd start rc/b >/dev/null
pass "pg_checksums verifies every page of the branch"

assert_eq "$(sql rc/main "SELECT count(*) FROM pgbench_history")" "0" "parent untouched"
assert_eq "$(invariants rc/main)" "t" "parent invariants"
pass "the parent is untouched by its branch's crashes"
