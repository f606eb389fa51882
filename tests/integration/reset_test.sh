#!/usr/bin/env bash
# Reset throws away a branch's changes and picks up its parent's new ones, keeping name and port.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create app >/dev/null
sql app/main "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)"
pgd branch create app/dev >/dev/null
port=$(port_of app/dev)

sql app/dev "INSERT INTO t VALUES (100); CREATE TABLE scratch (x int)"
sql app/main "INSERT INTO t VALUES (3)"
pgd branch reset app/dev >/dev/null
assert_eq "$(sql app/dev "SELECT string_agg(id::text, ',' ORDER BY id) FROM t")" "1,2,3" \
  "reset branch has exactly the parent's current rows"
assert_eq "$(sql app/dev "SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'")" "0" \
  "branch-only table is gone"
assert_eq "$(port_of app/dev)" "$port" "port kept across reset"
pass "reset discards changes and picks up the parent's new ones"

sql app/main "INSERT INTO t VALUES (4)"
out=$(pgd branch sync app/dev --json)
assert_eq "$(jq -r .status <<<"$out")" "running" "sync alias leaves the branch running"
assert_eq "$(sql app/dev "SELECT max(id) FROM t")" "4" "sync is an alias of reset"
pass "'branch sync' is an alias"

pgd stop app/dev >/dev/null
sql app/main "INSERT INTO t VALUES (5)"
pgd branch reset app/dev >/dev/null
assert_eq "$(sql app/dev "SELECT max(id) FROM t")" "5" "reset of a stopped branch starts it with new data"
pass "reset of a stopped branch"

expect_exit 1 pgd branch reset app/main
assert_contains "$ERR" "is the main branch and has no parent" "main cannot be reset"
pass "main cannot be reset"

# A child of the reset branch is independent of it.
pgd branch create app/child --from app/dev >/dev/null
sql app/main "INSERT INTO t VALUES (6)"
pgd branch reset app/dev >/dev/null
assert_eq "$(sql app/child "SELECT max(id) FROM t")" "5" "child keeps its own data after parent reset"
assert_eq "$(sql app/dev "SELECT max(id) FROM t")" "6" "reset branch has parent's data"
pass "children survive a reset of their parent"
