#!/usr/bin/env bash
# A full pool: commands that need space refuse with a clear error and create
# nothing; writes fail; no committed row is lost; after space is freed,
# `pgd doctor --fix` brings back any server the full disk stopped and
# everything works again.
source "$(dirname "$0")/lib.sh"
setup_pool 1G

pgd project create full >/dev/null
sql full/main "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 10000) g"
before=$(sql full/main "SELECT count(*) || ':' || md5(string_agg(h, '' ORDER BY id)) FROM t")
pgd branch create full/dev >/dev/null

dd if=/dev/zero of="$MNT/filler" bs=1M >/dev/null 2>&1 || true  # until ENOSPC
sync
expect_exit 1 pgd branch create full/more
assert_contains "$ERR" "the pool $MNT is full" "branch create on a full pool"
assert_contains "$ERR" "delete branches or snapshots" "and what to do"
expect_exit 1 pgd snapshot create full/main
assert_contains "$ERR" "is full" "snapshot on a full pool"
expect_exit 1 pgd project create other
assert_contains "$ERR" "is full" "project create on a full pool"
[ -e "$MNT/full/more" ] && fail "a refused branch left a subvolume"
assert_eq "$(pgd branch list --json | jq length)" "2" "nothing recorded"
assert_eq "$(pgd snapshot list --json | jq '[.[] | select(.kind == "manual")] | length')" "0" "no snapshot recorded"
pass "branch, snapshot and project create refuse a full pool cleanly"

if sql full/main "INSERT INTO t SELECT g, repeat('x', 2000) FROM generate_series(20001, 200000) g" 2>/dev/null; then
  fail "a 360 MB insert into a full pool succeeded"
fi
pass "writes to a full pool fail"

rm -f "$MNT/filler"
pool_sync
sleep 1
pgd doctor --fix >/dev/null || true  # restarts a server that ENOSPC stopped
expect_exit 0 pgd doctor
assert_eq "$(sql full/main "SELECT count(*) || ':' || md5(string_agg(h, '' ORDER BY id)) FROM t WHERE id <= 10000")" \
  "$before" "every committed row intact"
sql full/main "INSERT INTO t VALUES (0, 'after')"
pgd branch create full/more >/dev/null
pgd snapshot create full/main >/dev/null
assert_eq "$(sql full/more "SELECT count(*) FROM t WHERE id = 0")" "1" "new branch after freeing space"
pass "after freeing space: data intact, and branches, snapshots and writes work again"
