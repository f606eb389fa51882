#!/usr/bin/env bash
# Deleting stops processes, destroys subvolumes, frees space and removes records;
# children, main and non-empty projects are protected unless --force.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create big >/dev/null
pgd branch create big/dev >/dev/null
# Make the branch own ~200 MB exclusively.
sql big/dev "CREATE TABLE filler AS SELECT g, md5(g::text) || repeat('x', 200) AS pad FROM generate_series(1, 700000) g"
sql big/dev "CHECKPOINT"
sync
dev_port=$(port_of big/dev)
dev_pid=$(head -n1 "$MNT/big/dev/postmaster.pid")
used_before=$(pool_used_bytes)

pgd branch create big/child --from big/dev >/dev/null
pgd branch create big/grandchild --from big/child >/dev/null
expect_exit 1 pgd branch delete big/dev
assert_contains "$ERR" "has branches made from it (big/grandchild, big/child)" "children listed"
[ -d "$MNT/big/dev" ] || fail "refused delete removed data"
pass "a branch with children is not deleted without --force"

pgd branch delete big/dev --force >/dev/null
for b in dev child grandchild; do
  [ -e "$MNT/big/$b" ] && fail "subvolume of big/$b left behind"
  expect_exit 1 pgd branch get "big/$b"
done
process_gone "$dev_pid" || fail "postmaster of big/dev still running"
bash -c "exec 3<>/dev/tcp/127.0.0.1/$dev_port" 2>/dev/null && fail "port $dev_port still accepting"
[ -e "$PGD_HOME/logs/big/dev.log" ] && fail "log of deleted branch left behind"
pool_volumes | grep -qE "^$MNT/big/(dev|child|grandchild)\$" && fail "the pool still holds a deleted volume"
pass "--force deletes descendants: no process, subvolume, log or record left"

[ "$TEST_FS" = btrfs ] && btrfs subvolume sync "$MNT" >/dev/null
used_after=$(pool_used_bytes)
freed=$((used_before - used_after))
[ "$freed" -gt $((100 << 20)) ] || fail "delete freed only $freed bytes (before $used_before, after $used_after)"
pass "delete frees the branch's space ($((freed >> 20)) MiB)"

expect_exit 1 pgd branch delete big/main
assert_contains "$ERR" "is the project's main branch" "main protected"
pass "main is never deleted alone"

pgd branch create big/other >/dev/null
expect_exit 1 pgd project delete big
assert_contains "$ERR" "has 1 branches besides main; use --force" "project with branches protected"
pgd project delete big --force >/dev/null
[ -e "$MNT/big" ] && fail "project directory left behind"
[ -e "$PGD_HOME/secrets/big.password" ] && fail "project secret left behind"
[ -e "$PGD_HOME/logs/big" ] && fail "project logs left behind"
assert_eq "$(pgd project list --json | jq length)" "0" "no project records"
assert_eq "$(pgd branch list --json | jq length)" "0" "no branch records"
pass "project delete --force removes everything"

pgd project create solo >/dev/null
pgd project delete solo >/dev/null
assert_eq "$(pgd project list --json | jq length)" "0" "a project with only main deletes without --force"
pass "a project with only main needs no --force"
