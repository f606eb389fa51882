#!/usr/bin/env bash
# Point-in-time recovery is exact: recovering to a time between two commits
# yields exactly the rows committed up to then — for several targets, across a
# snapshot boundary, to a label, to an LSN, to "now", and from a branch other
# than main. Targets outside the recoverable window fail with a clear message.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create app >/dev/null
sql app/main "CREATE TABLE log (id int PRIMARY KEY, at timestamptz NOT NULL)"
# One row per transaction, 300 ms apart; `at` is taken inside the transaction.
commit_row() { sql "$1" "INSERT INTO log VALUES ($2, clock_timestamp())"; sleep 0.3; }
# A target 150 ms after row N's transaction: after its commit, before row N+1.
after_row() {
  sql "$1" "SELECT to_char((at + interval '150 ms') AT TIME ZONE 'UTC',
            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM log WHERE id = $2"
}
rows_of() { sql "$1" "SELECT count(*) || ':' || coalesce(max(id), 0) FROM log"; }

for i in 1 2 3; do commit_row app/main $i; done
pgd snapshot create app/main --label first >/dev/null
sleep 0.3
for i in 4 5 6; do commit_row app/main $i; done
pgd snapshot create app/main >/dev/null
sleep 0.3
for i in 7 8; do commit_row app/main $i; done
lsn_after_8=$(sql app/main "SELECT pg_current_wal_lsn()")
commit_row app/main 9

# Before any snapshot the user took: from the base pgd took when main was made.
for k in 1 2; do
  pgd branch create "app/early$k" --pitr "$(after_row app/main $k)" >/dev/null
  assert_eq "$(rows_of "app/early$k")" "$k:$k" "recovery to just after row $k, before any manual snapshot"
done
created=$(pgd branch get app/main --json | jq -r .recoverable_from)
[ "$created" != null ] || fail "main has no recoverable_from"
assert_eq "$(pgd snapshot list app/main --json | jq -r '.[0].kind')" "base" "main's first snapshot is its base"
assert_eq "$(pgd snapshot list app/main --json | jq -r '.[0].created_at')" "$created" "recoverable_from is the base's time"
pass "recovery to a moment before any manual snapshot is exact (from main's base; window from $created)"

# A new branch has a window of its own from its creation, with its own WAL.
pgd branch create app/fork >/dev/null
commit_row app/fork 100
commit_row app/fork 101
pgd branch create app/fork-at100 --from app/fork --pitr "$(after_row app/fork 100)" >/dev/null
assert_eq "$(rows_of app/fork-at100)" "10:100" "a branch's own history, from its base"
pass "a new branch is recoverable from the moment it was made"

n=0
for k in 4 5 6 7 8; do
  n=$((n + 1))
  pgd branch create "app/at$k" --pitr "$(after_row app/main $k)" >/dev/null
  assert_eq "$(rows_of "app/at$k")" "$k:$k" "recovery to just after row $k"
done
pass "recovery to times between commits is exact (5 targets, both sides of a snapshot)"

pgd branch create app/at-label --pitr first >/dev/null
assert_eq "$(rows_of app/at-label)" "3:3" "recovery to the label"
pass "recovery to a snapshot label"

pgd branch create app/at-lsn --pitr "$lsn_after_8" >/dev/null
assert_eq "$(rows_of app/at-lsn)" "8:8" "recovery to an LSN"
pass "recovery to an LSN"

pgd branch create app/at-now --pitr "0 seconds ago" >/dev/null
assert_eq "$(rows_of app/at-now)" "9:9" "recovery to now has every committed row"
expect_exit 1 "$PGD" branch create app/at-rel --pitr "-1d"
assert_contains "$ERR" "it is before the first snapshot" "a day ago is before the first snapshot"
[ -z "$(pgd branch list app --json | jq -r '.[] | select(.branch == "at-rel") | .name')" ] ||
  fail "a failed PITR left its branch behind"
[ ! -e "$MNT/app/at-rel" ] || fail "a failed PITR left its volume behind"
pass "relative targets"

# The recovered branch archives into its own archive, never into the source's.
sql app/at5 "INSERT INTO log VALUES (100, now())"
sql app/at5 "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 100); do
  ls "$PGD_HOME/wal/app/at5" | grep -q '^00000002000' && break
  sleep 0.1
done
ls "$PGD_HOME/wal/app/at5" | grep -q '^00000002000' || fail "recovered branch archived nothing of its own"
ls "$PGD_HOME/wal/app/main" | grep -q '^00000002' && fail "recovered branch wrote into the source's archive"
assert_eq "$(rows_of app/main)" "9:9" "source untouched"
pass "a recovered branch archives into its own archive"

# From a branch other than main, with its own history.
pgd branch create app/dev >/dev/null
sql app/dev "CREATE TABLE dev_log (id int, at timestamptz)"
pgd snapshot create app/dev --label dev-start >/dev/null
sleep 0.3
for i in 1 2 3; do sql app/dev "INSERT INTO dev_log VALUES ($i, clock_timestamp())"; sleep 0.3; done
target=$(sql app/dev "SELECT to_char((at + interval '150 ms') AT TIME ZONE 'UTC',
                      'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM dev_log WHERE id = 2")
pgd branch create app/dev-at2 --from app/dev --pitr "$target" >/dev/null
assert_eq "$(sql app/dev-at2 "SELECT string_agg(id::text, ',' ORDER BY id) FROM dev_log")" "1,2" \
  "recovery from a non-main branch"
assert_eq "$(pgd branch get app/dev-at2 --json | jq -r .parent)" "app/dev" "parent of a recovered branch"
pass "recovery from a branch other than main"

# Outside the window: each fails cleanly and creates nothing.
before=$(pgd branch list --json | jq length)
expect_exit 1 pgd branch create app/too-early --pitr "1 hour ago"
assert_contains "$ERR" "before the first snapshot" "target before the first snapshot"
assert_contains "$ERR" "recoverable window of 'app/main' is" "window stated"
expect_exit 2 pgd branch create app/future --pitr "2099-01-01T00:00:00Z"
assert_contains "$ERR" "is in the future" "future target"
expect_exit 1 pgd branch create app/nolabel --pitr no-such-label
assert_contains "$ERR" "has no snapshot labelled 'no-such-label'" "unknown label"
expect_exit 2 pgd branch create app/garbage --pitr "yesterday-ish!"
assert_contains "$ERR" "invalid --pitr target" "unparseable target"
# A source whose every snapshot was deleted (its base included) has no window.
for id in $(pgd snapshot list app/at4 --json | jq -r '.[].id'); do pgd snapshot delete "$id" >/dev/null; done
expect_exit 1 pgd branch create app/nosnap --from app/at4 --pitr "0 seconds ago"
assert_contains "$ERR" "has no snapshots" "source without snapshots"
expect_exit 2 pgd branch create app/far-lsn --pitr "FF/0"
assert_contains "$ERR" "is beyond the end of the WAL of 'app/main'" "LSN past the end"
assert_eq "$(pgd branch list --json | jq length)" "$before" "failed recoveries leave no branch"
for b in too-early future nolabel garbage nosnap far-lsn; do
  [ -e "$MNT/app/$b" ] && fail "failed recovery left $b behind"
done
expect_exit 0 pgd doctor
pass "targets outside the recoverable window fail clearly and leave nothing behind"

# A stopped source: a target after its last commit gives its final state.
pgd stop app/dev >/dev/null
sleep 0.5
pgd branch create app/dev-final --from app/dev --pitr "0 seconds ago" >/dev/null
assert_eq "$(sql app/dev-final "SELECT string_agg(id::text, ',' ORDER BY id) FROM dev_log")" "1,2,3" \
  "recovery of a stopped source to after its last commit"
pgd start app/dev >/dev/null
pass "recovery of a stopped source to a time after it stopped gives its final state"

# A lost piece of the archive: recovery cannot reach the target and says so.
pgd snapshot create app/dev --label before-gap >/dev/null
for i in 4 5 6 7; do
  sql app/dev "INSERT INTO dev_log VALUES ($i, clock_timestamp()); SELECT pg_switch_wal()" >/dev/null
done
sql app/dev "CHECKPOINT" && sql app/dev "CHECKPOINT"  # recycles the old segments in pg_wal
rm -f "$PGD_HOME"/wal/app/dev/0000*
expect_exit 1 pgd branch create app/gap --from app/dev --pitr "0 seconds ago"
assert_contains "$ERR" "the WAL archived for 'app/dev' ends before it" "a gap in the archive"
[ -e "$MNT/app/gap" ] && fail "failed recovery left its clone behind"
pass "a gap in the archive fails with a clear message"
