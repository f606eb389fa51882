#!/usr/bin/env bash
# Bad names, duplicates, unknown branches and flags fail cleanly: exit 2 for
# usage errors, 1 for the rest, a clear message, and nothing created or deleted.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create base >/dev/null
sql base/main "CREATE TABLE t (id int); INSERT INTO t VALUES (1)"
pgd branch create base/dev >/dev/null

snapshot_state() {
  echo "$(pgd status --json | jq -c '[.projects[] | .name, [.branches[] | .name, .status, .port]]')" \
       "$(pgd snapshot list --json | jq -c '[.[].id]')" \
       "$(ls "$MNT"/* | tr '\n' ' ')" "$(ls "$PGD_HOME/secrets" "$PGD_HOME/logs" | tr '\n' ' ')"
}
before=$(snapshot_state)

bad_names=("" "UPPER" "-dash" "_under" "has space" "a/b" ".." "." "dot.name" "semi;colon"
  "quote'" 'dquote"' 'dollar$x' 'back`tick`' "caf$(printf '\xc3\xa9')" "new
line" "$(printf 'a%.0s' {1..64})")
for name in "${bad_names[@]}"; do
  # '--' so that names starting with '-' reach validation rather than the option parser.
  expect_exit 2 pgd project create -- "$name"
  assert_contains "$ERR" "invalid project name" "project create '$name'"
  expect_exit 2 pgd branch create -- "base/$name"
  [[ "$ERR" == *"invalid branch"* ]] || fail "branch create 'base/$name': $ERR"
  expect_exit 2 pgd branch delete "base/$name"
done
expect_exit 2 pgd project create -dash  # taken for an option: still a usage error
expect_exit 2 pgd branch create "nodelimiter"
assert_contains "$ERR" "expected <project>/<branch>" "missing slash explained"
expect_exit 2 pgd branch create "base/dev/extra"
pass "invalid names exit 2 with a clear message"

expect_exit 0 pgd project create "$(printf 'a%.0s' {1..63})"
pgd project delete "$(printf 'a%.0s' {1..63})" >/dev/null
pass "a 63-character name is accepted"

expect_exit 1 pgd branch create base/dev
assert_contains "$ERR" "branch 'base/dev' already exists" "duplicate branch"
expect_exit 1 pgd project create base
assert_contains "$ERR" "project 'base' already exists" "duplicate project"
pass "duplicates fail with exit 1"

expect_exit 1 pgd branch get base/nope
assert_contains "$ERR" "branch 'base/nope' does not exist" "unknown branch"
expect_exit 1 pgd branch create nope/dev
assert_contains "$ERR" "project 'nope' does not exist" "unknown project"
expect_exit 1 pgd branch create base/x --from base/nope
assert_contains "$ERR" "branch 'base/nope' does not exist" "unknown source"
expect_exit 2 pgd branch create base/x --from other/main
assert_contains "$ERR" "is in another project" "cross-project branch"
expect_exit 1 pgd branch delete base/nope
expect_exit 1 pgd start base/nope
expect_exit 1 pgd project delete nope
pass "non-existent names fail with exit 1"

expect_exit 2 pgd branch create base/x --bogus
expect_exit 2 pgd frobnicate
expect_exit 2 pgd
expect_exit 2 pgd branch
expect_exit 2 pgd branch create
expect_exit 2 pgd project create x --pg-version abc
expect_exit 2 pgd project create x --pg-version 99
assert_contains "$ERR" "PostgreSQL 99 is not installed (installed: 15" "missing version lists installed ones"
expect_exit 2 pgd start
expect_exit 2 pgd start base/dev --all
expect_exit 2 pgd setup --size 5G
expect_exit 2 pgd setup --pool-file "$T/x.img" --size lots
expect_exit 2 pgd setup --pool-file "$T/x.img" --fs zfs
expect_exit 2 pgd setup --fs xfs
other_fs=$([ "$TEST_FS" = btrfs ] && echo xfs || echo btrfs)
expect_exit 2 pgd setup --pool-file "$T/pool.img" --fs "$other_fs"
assert_contains "$ERR" "already holds a $TEST_FS pool" "an existing image keeps its filesystem"
[ -e "$T/x.img" ] && fail "a refused setup created an image"
pass "bad usage exits 2"

# Snapshot labels, recovery targets, ages and flags of the other commands.
for label in "" "UP" "a b" "../x" "x/y" "semi;colon" "quote'" "$(printf 'l%.0s' {1..64})"; do
  expect_exit 2 pgd snapshot create base/main --label "$label"
done
for target in "2025-13-45T99:00:00Z" "2025-02-30" "yesterday!" "-5x" "1/2/3" "' OR 1=1 --"; do
  expect_exit 2 pgd branch create base/pitr --pitr "$target"
done
expect_exit 2 pgd branch create base/pitr --pitr "2099-01-01T00:00:00Z"
for days in -1 abc 1.5 ""; do
  expect_exit 2 pgd snapshot cleanup base/main --days "$days"
  expect_exit 2 pgd wal cleanup base/main --days "$days"
done
expect_exit 2 pgd snapshot cleanup base/main --all --days 1
expect_exit 2 pgd snapshot create base/main --bogus
expect_exit 2 pgd wal info --bogus
expect_exit 2 pgd doctor --bogus
expect_exit 2 pgd snapshot
expect_exit 2 pgd wal
pass "bad labels, targets, ages and flags exit 2"

after=$(snapshot_state)
assert_eq "$after" "$before" "nothing created or deleted by bad input"
assert_eq "$(sql base/dev "SELECT count(*) FROM t")" "1" "existing branch intact"
pass "nothing was created or deleted"

plain=$(mktemp -d /tmp/pgd-plain.XXXXXX)
expect_exit 2 env PGD_HOME="$T/other-home" "$PGD" setup --dir "$plain"
rmdir "$plain"
assert_contains "$ERR" "is not on btrfs or XFS" "a directory on another filesystem is refused"
assert_contains "$ERR" "sudo pgd setup --pool-file" "and says what to do"
expect_exit 2 env PGD_HOME="$T/fresh-home" "$PGD" branch list
assert_contains "$ERR" "pgd is not set up" "commands before setup explain setup"
pass "setup refuses a directory on neither btrfs nor XFS; commands before setup say what to do"
