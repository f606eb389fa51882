#!/usr/bin/env bash
# Snapshots (create/list/delete/cleanup), the archive command's guarantees,
# and WAL retention that never deletes what a retained snapshot needs.
source "$(dirname "$0")/lib.sh"
setup_pool

# The snapshots the user took (pgd's own bases, one per branch, are not listed here).
manual() { pgd snapshot list "$@" --json | jq '[.[] | select(.kind == "manual")]'; }

pgd project create shop >/dev/null
assert_eq "$(pgd snapshot list shop/main --json | jq -r '.[0].kind')" "base" "a new main's base"
sql shop/main "CREATE TABLE t (id int)"

snap=$(pgd snapshot create shop/main --label before-migration --json)
for key in id branch label created_at lsn redo_lsn size_bytes timings_ms; do
  [ "$(jq "has(\"$key\")" <<<"$snap")" == true ] || fail "snapshot create --json lacks '$key'"
done
id1=$(jq -r .id <<<"$snap")
assert_eq "$(jq -r .label <<<"$snap")" "before-migration" "label"
assert_eq "$(jq -r .branch <<<"$snap")" "shop/main" "branch"
[ -d "$MNT/shop/main@$id1" ] || fail "snapshot subvolume missing"
volume_read_only "$MNT/shop/main@$id1" || fail "snapshot is not read-only"
pass "snapshot create records id, label, time, LSN and size; it is read-only"

# A snapshot of a stopped branch is its data directory exactly: every name,
# type, owner, size and byte (on XFS a file-by-file clone made on several
# threads), with the write bits taken away.
pgd branch create shop/still >/dev/null
pgd stop shop/still >/dev/null
still=$(pgd snapshot create shop/still --json | jq -r .id)
tree() { (cd "$1" && find . -printf '%p %y %u %g %s\n' | sort); }
assert_eq "$(tree "$MNT/shop/still@$still")" "$(tree "$MNT/shop/still")" "names, types, owners, sizes"
(cd "$MNT/shop/still" && find . -type f -print0 | sort -z | xargs -0 md5sum) >"$T/still.md5"
(cd "$MNT/shop/still@$still" && md5sum --quiet -c "$T/still.md5") || fail "snapshot content differs"
writable=$(find "$MNT/shop/still@$still" -perm /222 -not -type l | wc -l)
[ "$TEST_FS" = btrfs ] || assert_eq "$writable" "0" "nothing in the snapshot is writable"
[ "$(find "$MNT/shop/still" -type f | wc -l)" -gt 900 ] || fail "expected a full data directory"
pgd branch delete shop/still >/dev/null
pass "a snapshot of a stopped branch holds its every file, owner and byte, read-only"

expect_exit 1 pgd snapshot create shop/main --label before-migration
assert_contains "$ERR" "already has a snapshot labelled 'before-migration'" "duplicate label"
expect_exit 2 pgd snapshot create shop/main --label "Bad Label"
assert_contains "$ERR" "invalid snapshot label name" "invalid label"
expect_exit 1 pgd snapshot create shop/nope
assert_eq "$(manual | jq length)" "1" "failed creates add nothing"
pass "duplicate and invalid labels are refused"

sql shop/main "INSERT INTO t VALUES (1)"
id2=$(pgd snapshot create shop/main --json | jq -r .id)
pgd branch create shop/dev >/dev/null
id3=$(pgd snapshot create shop/dev --label before-migration --json | jq -r .id)
assert_eq "$(manual shop/main | jq -r '[.[].id] | join(",")')" "$id1,$id2" "list of one branch"
assert_eq "$(manual | jq length)" "3" "list of all"
expect_exit 2 pgd snapshot delete before-migration
assert_contains "$ERR" "names snapshots of several branches" "ambiguous label"
pgd snapshot delete "$id3" >/dev/null
pgd snapshot delete before-migration >/dev/null  # now unambiguous: main's
[ -e "$MNT/shop/main@$id1" ] && fail "deleted snapshot's subvolume left behind"
assert_eq "$(manual | jq -r '[.[].id] | join(",")')" "$id2" "what is left"
expect_exit 1 pgd snapshot delete no-such-snapshot
pass "snapshot list and delete by id or label"

# Age-based cleanup; PGD_NOW pins the clock (a test hook) to make snapshots old.
old=$(PGD_NOW=2020-01-01T00:00:00Z "$PGD" snapshot create shop/main --label ancient --json | jq -r .id)
expect_exit 2 pgd snapshot cleanup shop/main --days -1
expect_exit 2 pgd snapshot cleanup shop/main
expect_exit 2 pgd snapshot cleanup --days 30
dry=$(pgd snapshot cleanup shop/main --days 30 --dry-run --json)
assert_eq "$(jq -r '[.would_delete[].id] | join(",")' <<<"$dry")" "$old" "dry run lists exactly the old one"
assert_eq "$(manual | jq length)" "2" "dry run deletes nothing"
pgd snapshot cleanup --all --days 30 >/dev/null
assert_eq "$(manual | jq -r '[.[].id] | join(",")')" "$id2" "cleanup deleted the old one"
pass "snapshot cleanup by age, with --dry-run"

# The archive command: whole segments only, never a different overwrite.
script=$PGD_HOME/bin/pgd-archive-wal
dir=$PGD_HOME/wal/shop/main
assert_eq "$(stat -c '%a %U' "$dir")" "700 pgd" "archive dir mode and owner"
work=$(mktemp -d /tmp/pgd-arch.XXXXXX)
head -c 100000 /dev/urandom >"$work/seg"
sh "$script" "$work/seg" SEGX "$work" || fail "archive command failed"
cmp -s "$work/seg" "$work/SEGX" || fail "archived copy differs"
sh "$script" "$work/seg" SEGX "$work" || fail "re-archiving identical content must succeed"
head -c 100000 /dev/urandom >"$work/other"
if sh "$script" "$work/other" SEGX "$work" 2>/dev/null; then fail "overwrote a segment with different content"; fi
cmp -s "$work/seg" "$work/SEGX" || fail "the refused overwrite changed the segment"
[ -z "$(ls -A "$work" | grep '^\.')" ] || fail "temporary files left behind"
rm -rf "$work"
pass "archive command: identical retry succeeds, different content is refused, no temp files"

# Retention: make several segments, snapshot, more segments; cleanup keeps
# every segment from the snapshot's REDO point on, and recovery still works.
for i in 1 2 3; do sql shop/main "INSERT INTO t VALUES ($i); SELECT pg_switch_wal()" >/dev/null; done
pgd snapshot delete "$id2" >/dev/null
# (main's base from its creation goes too, as scheduled cleanup would move it
# on: the labelled snapshot below is then the oldest.)
for id in $(pgd snapshot list shop/main --json | jq -r '.[] | select(.kind == "base") | .id'); do
  pgd snapshot delete "$id" >/dev/null
done
base=$(pgd snapshot create shop/main --label base --json)
redo_seg=$(sql shop/main "SELECT pg_walfile_name('$(jq -r .redo_lsn <<<"$base")')")
for i in 4 5; do sql shop/main "INSERT INTO t VALUES ($i); SELECT pg_switch_wal()" >/dev/null; done
sql shop/main "INSERT INTO t VALUES (6)"
for _ in $(seq 1 100); do [ "$(pgd wal info shop/main --json | jq .segments)" -ge 5 ] && break; sleep 0.1; done
info=$(pgd wal info shop/main --json)
for key in branch archive_dir segments bytes oldest_segment newest_segment oldest_time newest_time archiver; do
  [ "$(jq "has(\"$key\")" <<<"$info")" == true ] || fail "wal info --json lacks '$key'"
done
assert_eq "$(jq .archiver.failed_count <<<"$info")" "0" "archiver healthy"
pgd wal info | grep -q "shop/main" || fail "wal info table"
pass "wal info shows segments, size, oldest/newest and archiver health"

expect_exit 2 pgd wal cleanup shop/main --days -1
dry=$(PGD_NOW=2099-01-01T00:00:00Z "$PGD" wal cleanup shop/main --days 7 --dry-run --json)
would=$(jq -r '.would_delete[]' <<<"$dry")
[ -n "$would" ] || fail "nothing older than the snapshot to delete"
for f in $would; do
  [[ "${f:8:16}" < "${redo_seg:8:16}" ]] || fail "would delete $f, needed from $redo_seg on"
done
kept=$(ls "$dir" | grep -E '^[0-9A-F]{24}$' | while read -r f; do [[ "${f:8:16}" < "${redo_seg:8:16}" ]] || echo "$f"; done)
[ -n "$kept" ] || fail "no segment kept"
assert_eq "$(jq -r .kept_for_snapshot <<<"$dry")" "$(jq -r .id <<<"$base")" "names the protecting snapshot"
count_before=$(ls "$dir" | wc -l)
assert_eq "$(pgd wal cleanup shop/main --days 7 --json | jq '.deleted | length')" "0" "nothing is 7 days old yet"
PGD_NOW=2099-01-01T00:00:00Z "$PGD" wal cleanup shop/main --days 7 >/dev/null
assert_eq "$(ls "$dir" | wc -l)" "$((count_before - $(wc -w <<<"$would")))" "exactly the dry run's files went"
pgd branch create shop/restored --pitr "0 seconds ago" >/dev/null
assert_eq "$(sql shop/restored "SELECT count(*) FROM t")" "7" "recovery from the retained snapshot after cleanup"
pass "wal cleanup deletes exactly what --dry-run lists and never what the snapshot needs"

pgd branch delete shop/restored >/dev/null
[ -e "$PGD_HOME/wal/shop/restored" ] && fail "archive of a deleted branch left behind"
pgd project delete shop --force >/dev/null
[ -e "$PGD_HOME/wal/shop" ] && fail "archives of a deleted project left behind"
assert_eq "$(ls "$MNT")" "" "no subvolume left"
pass "deleting branches and projects removes their snapshots and archives"
