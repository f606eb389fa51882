#!/usr/bin/env bash
# A branch is a full, writable, isolated copy of its parent; branches of branches work.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create shop >/dev/null
sql shop/main "CREATE TABLE orders (id int PRIMARY KEY, note text)"
sql shop/main "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 1000) g"
# Committed immediately before the branch command: must be in the branch.
sql shop/main "INSERT INTO orders VALUES (1001, 'last before branch')"

pgd branch create shop/dev >/dev/null
assert_eq "$(sql shop/dev "SELECT count(*), max(id) FROM orders")" "1001|1001" "branch has parent's rows"
assert_eq "$(sql shop/dev "SELECT note FROM orders WHERE id = 1001")" "last before branch" \
  "branch has the last commit before branching"
pass "new branch has the parent's data"

sql shop/dev "DELETE FROM orders WHERE id <= 500"
sql shop/dev "CREATE TABLE dev_only (x int)"
assert_eq "$(sql shop/main "SELECT count(*) FROM orders")" "1001" "parent unaffected by branch writes"
assert_eq "$(sql shop/main "SELECT count(*) FROM pg_tables WHERE tablename = 'dev_only'")" "0" \
  "parent has no branch table"
sql shop/main "INSERT INTO orders VALUES (2000, 'after branch')"
assert_eq "$(sql shop/dev "SELECT count(*) FROM orders WHERE id = 2000")" "0" \
  "branch unaffected by parent writes"
pass "writes are isolated both ways"

pgd branch create shop/feature --from shop/dev >/dev/null
assert_eq "$(sql shop/feature "SELECT count(*) FROM orders")" "501" "branch of branch has dev's rows"
assert_eq "$(sql shop/feature "SELECT count(*) FROM pg_tables WHERE tablename = 'dev_only'")" "1" \
  "branch of branch has dev's table"
assert_eq "$(pgd branch get shop/feature --json | jq -r .parent)" "shop/dev" "parent recorded"
pass "branch of a branch"

json=$(pgd branch get shop/dev --json)
for key in name project branch parent status host port user database uri created_at size_bytes; do
  [ "$(jq "has(\"$key\")" <<<"$json")" == true ] || fail "branch get --json lacks '$key'"
done
assert_eq "$(jq -r .status <<<"$json")" "running" "status"
assert_eq "$(jq -r .host <<<"$json")" "127.0.0.1" "host"
assert_eq "$(jq -r .uri <<<"$json")" "postgresql://postgres@127.0.0.1:$(jq -r .port <<<"$json")/postgres" "uri"
[ "$(jq -r .size_bytes <<<"$json")" -lt $((8 << 20)) ] || fail "a lightly changed branch should be small"
pass "branch get --json has the documented keys"

created=$(pgd branch create shop/timed --json)
for phase in connect checkpoint snapshot configure start; do
  [ "$(jq ".timings_ms | has(\"$phase\")" <<<"$created")" == true ] || fail "timings_ms lacks $phase"
done
human=$(pgd branch create shop/timed2)
assert_contains "$human" "snapshot" "human output shows phases"
pass "branch create reports per-phase timings"

list=$(pgd branch list shop --json)
assert_eq "$(jq length <<<"$list")" "5" "branch list shows every branch"
assert_eq "$(pgd branch list --json | jq -r '.[0].name')" "shop/main" "main listed first"
pgd status | grep -q "shop (PostgreSQL 15)" || fail "status shows the project"
pgd status --json | jq -e '.projects[0].branches | length == 5' >/dev/null || fail "status --json"
pass "list and status show the tree"

# A stopped source branches too, and the clone starts.
pgd stop shop/dev >/dev/null
pgd branch create shop/from-stopped --from shop/dev >/dev/null
assert_eq "$(sql shop/from-stopped "SELECT count(*) FROM orders")" "501" "clone of a stopped branch"
pass "branching from a stopped source"

# A source's pg_wal also holds recycled segments: old files renamed ahead of its
# insert position for reuse. A branch must not get them (it would copy their
# shared blocks on every first write, and on XFS force the log on every commit);
# it makes its own when its WAL gets there. (It may recycle one or two older
# segments of its own clone: those stay shared, a short cost.)
future_segments() {  # BRANCH (running): segment files past the one being written
  local dir current
  dir=$(pgd branch get "$1" --json | jq -r .data_dir)/pg_wal
  current=$(sql "$1" "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
  ls "$dir" | grep -E '^[0-9A-F]{24}$' | awk -v c="$current" '$0 > c' | wc -l
}
sql shop/main "CREATE TABLE filler AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 250000) g"
sql shop/main "DROP TABLE filler"
sql shop/main "CHECKPOINT"
[ "$(future_segments shop/main)" -ge 5 ] || fail "setup: main should keep recycled segments ahead"
pgd branch create shop/lean >/dev/null
[ "$(future_segments shop/lean)" -le 3 ] || fail "branch got $(future_segments shop/lean) recycled segments"
assert_eq "$(sql shop/lean "SELECT count(*) FROM orders")" "1002" "lean branch has main's rows"
# Past the segments it kept: the branch writes ~100 MB of WAL and survives a restart.
sql shop/lean "CREATE TABLE churn AS SELECT g, repeat('y', 400) AS pad FROM generate_series(1, 250000) g"
pgd restart shop/lean >/dev/null
assert_eq "$(sql shop/lean "SELECT count(*) FROM churn")" "250000" "branch wrote past its kept segments"
pgd stop shop/main >/dev/null
pgd branch create shop/lean-stopped >/dev/null
[ "$(future_segments shop/lean-stopped)" -le 3 ] || fail "clone of a stopped source got recycled segments"
assert_eq "$(sql shop/lean-stopped "SELECT count(*) FROM orders")" "1002" "clone of stopped main"
pgd start shop/main >/dev/null
pass "branches leave the parent's recycled WAL segments behind"

# An idle source is not checkpointed again for a branch (btrfs; XFS clones take an online
# backup): a CHECKPOINT would gain the clone nothing. A source with new WAL (> 64 KiB) is; either way
# the branch has every commit. (PostgreSQL's background writer may log a record of its own
# at any moment, which rightly makes a source not idle: so up to three tries.)
if [ "$TEST_FS" = btrfs ]; then
  checkpoint_lsn() { sql shop/main "SELECT checkpoint_lsn FROM pg_control_checkpoint()"; }
  sql shop/main "CHECKPOINT"
  skipped=no
  for i in 1 2 3; do
    before=$(checkpoint_lsn)
    pgd branch create "shop/idle$i" >/dev/null
    [ "$(checkpoint_lsn)" = "$before" ] && { skipped=yes; break; }
  done
  assert_eq "$skipped" "yes" "an idle source is not checkpointed"
  assert_eq "$(sql "shop/idle$i" "SELECT count(*) FROM orders")" "1002" "branch of an idle source"
  # A commit just before the command, with no CHECKPOINT for it: the clone replays it.
  sql shop/main "INSERT INTO orders VALUES (3000, 'just before the branch')"
  pgd branch create shop/after-commit >/dev/null
  assert_eq "$(sql shop/after-commit "SELECT note FROM orders WHERE id = 3000")" \
    "just before the branch" "the last commit is in the branch"
  # More than 64 KiB of WAL since the last checkpoint: checkpointed.
  sql shop/main "CHECKPOINT"
  before=$(checkpoint_lsn)
  sql shop/main "INSERT INTO orders SELECT g, repeat('z', 200) FROM generate_series(4000, 5999) g"
  pgd branch create shop/after-writes >/dev/null
  [ "$(checkpoint_lsn)" != "$before" ] || fail "a source with new WAL must be checkpointed"
  assert_eq "$(sql shop/after-writes "SELECT count(*) FROM orders WHERE id >= 3000")" "2001" \
    "the writes are in the branch"
  pass "the CHECKPOINT is skipped only for an idle source"
fi
