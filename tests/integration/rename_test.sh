#!/usr/bin/env bash
# pgd branch rename: data, port, snapshots, WAL archive (PITR still works),
# log, client entries and children follow the new name; refusals; under a
# client's load; killed half-way, doctor --fix finishes it.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create shop >/dev/null
pgd branch create shop/dev >/dev/null
sql shop/dev "CREATE TABLE t (id serial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp()); INSERT INTO t DEFAULT VALUES"
pgd snapshot create shop/dev --label first >/dev/null
sql shop/dev "INSERT INTO t SELECT FROM generate_series(1, 9)"
pgd branch create shop/child --from shop/dev >/dev/null
port=$(port_of shop/dev)
snap_id=$(pgd snapshot list shop/dev --json | jq -r '.[] | select(.label == "first") | .id')

# Under load: one client session inserting a row per transaction while the
# rename runs. The rename restarts the server: the session is disconnected
# (documented), and every row it committed is in the renamed branch.
password=$(pgd branch password shop/dev)
for i in $(seq 1 1500); do echo "INSERT INTO t DEFAULT VALUES; SELECT pg_sleep(0.01);"; done >"$T/load.sql"
set +e
PGPASSWORD=$password psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -X -v ON_ERROR_STOP=1 \
  -f "$T/load.sql" >"$T/client.txt" 2>"$T/client.err" &
client=$!
set -e
sleep 1
out=$(pgd branch rename shop/dev feature-x --json)
set +e; wait "$client"; client_rc=$?; set -e
assert_eq "$(jq -r '"\(.from) \(.to) \(.port) \(.restarted)"' <<<"$out")" "shop/dev shop/feature-x $port true" "rename --json"
[ "$client_rc" -ne 0 ] || fail "the client session was not disconnected (the restart is documented)"
committed=$(grep -c "^INSERT 0 1" "$T/client.txt" || true)
[ "$committed" -gt 0 ] || fail "the client committed nothing before the rename"
rows=$(sql shop/feature-x "SELECT count(*) FROM t")
[ "$rows" -ge $((10 + committed)) ] || fail "rows: $rows, expected at least 10 + $committed committed by the client"
assert_eq "$(port_of shop/feature-x)" "$port" "the same port"
expect_exit 1 pgd branch get shop/dev
pass "a running branch renamed under a client's load: same port and data, every commit kept ($committed by the client)"

# Everything that carries the name moved with it.
[ -d "$MNT/shop/feature-x" ] && [ ! -e "$MNT/shop/dev" ] || fail "volume not moved"
[ -d "$MNT/shop/feature-x@$snap_id" ] && [ ! -e "$MNT/shop/dev@$snap_id" ] || fail "snapshot volume not moved"
assert_eq "$(pgd snapshot list shop/feature-x --json | jq -r '.[] | select(.label == "first") | .branch')" \
  "shop/feature-x" "the snapshot's record"
[ -d "$PGD_HOME/wal/shop/feature-x" ] && [ ! -e "$PGD_HOME/wal/shop/dev" ] || fail "WAL archive not moved"
[ -f "$PGD_HOME/logs/shop/feature-x.log" ] && [ ! -e "$PGD_HOME/logs/shop/dev.log" ] || fail "log not moved"
assert_eq "$(pgd branch get shop/child --json | jq -r .parent)" "shop/feature-x" "the child's parent"
assert_contains "$(cat "$PGSERVICEFILE")" "[shop-feature-x]" "service entry"
[[ "$(cat "$PGSERVICEFILE")" != *"[shop-dev]"* ]] || fail "the old service entry is still there"
assert_eq "$(psql "service=shop-feature-x" -XtAqc "SELECT count(*) > 0 FROM t")" "t" "psql through the new service"
# The archive keeps going under the new name: PITR to the label and to now.
sql shop/feature-x "INSERT INTO t DEFAULT VALUES; SELECT pg_switch_wal()" >/dev/null
pgd branch create shop/back --from shop/feature-x --pitr first >/dev/null
assert_eq "$(sql shop/back "SELECT count(*) FROM t")" "1" "PITR to the snapshot taken before the rename"
latest=$(sql shop/feature-x "SELECT max(id) FROM t")
target=$(sql shop/feature-x "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
sql shop/feature-x "SELECT pg_switch_wal()" >/dev/null
pgd branch create shop/now --from shop/feature-x --pitr "$target" >/dev/null
assert_eq "$(sql shop/now "SELECT max(id) FROM t")" "$latest" "PITR across the rename"
pass "volume, snapshot, WAL archive (PITR before and across it), log, service entry and child follow"

# A stopped branch stays stopped.
pgd stop shop/child >/dev/null
pgd branch rename shop/child shop/kid >/dev/null
assert_eq "$(pgd branch get shop/kid --json | jq -r .status)" "stopped" "stopped stays stopped"
pgd start shop/kid >/dev/null
assert_eq "$(sql shop/kid "SELECT count(*) >= 10 FROM t")" "t" "its data"
pass "a stopped branch is renamed without starting it"

# Refusals: nothing changes.
expect_exit 2 pgd branch rename shop/main shop/primary
expect_exit 2 pgd branch rename shop/kid shop/main
expect_exit 2 pgd branch rename shop/kid other/kid
expect_exit 2 pgd branch rename shop/kid "Bad Name"
expect_exit 2 pgd branch rename shop/kid
expect_exit 1 pgd branch rename shop/kid shop/feature-x
assert_contains "$ERR" "already exists" "a name in use"
expect_exit 1 pgd branch rename shop/nope shop/other
assert_eq "$(pgd branch list shop --json | jq -r '[.[].branch] | sort | join(",")')" "back,feature-x,kid,main,now" "no change"
pass "main, a name in use, another project, bad names and a missing branch are refused"

# Another command at work on the project (a diff, held with SIGSTOP while its
# private copy runs): the rename is refused, not queued.
sql shop/main "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g"
pgd snapshot create shop/main --label big >/dev/null
sql shop/main "UPDATE big SET v = 'x' WHERE id % 2 = 0"
"$PGD" diff shop/main@big shop/main --data >/dev/null 2>&1 &
differ=$!
for _ in $(seq 1 1000); do ls -a "$MNT/shop" | grep -q '^\.diff-' && break; sleep 0.01; done
kill -STOP "$differ"
ls -a "$MNT/shop" | grep -q '^\.diff-' || { kill -CONT "$differ"; fail "the diff's copy was not seen"; }
expect_exit 1 pgd branch rename shop/kid shop/kid3
kill -CONT "$differ"
wait "$differ" || fail "the held diff failed"
assert_contains "$ERR" "is busy: 'diff.copy" "refused while a diff runs"
pgd branch get shop/kid >/dev/null
pass "a rename is refused while another command works on the project"

# Killed half-way (after each step): doctor --fix finishes the rename.
n=0
for step in stopped moved recorded; do
  n=$((n + 1))
  from=kid; [ $((n % 2)) -eq 0 ] && from=kid2
  to=kid2; [ "$from" = kid2 ] && to=kid
  set +e
  PGD_FAULT=branch.rename:$step "$PGD" branch rename "shop/$from" "shop/$to" >/dev/null 2>&1
  rc=$?
  set -e
  assert_eq "$rc" "137" "killed after '$step'"
  expect_exit 1 pgd doctor
  assert_contains "$OUT" "branch.rename" "doctor reports the interrupted rename ($step)"
  expect_exit 0 pgd doctor --fix
  assert_eq "$(pgd branch get "shop/$to" --json | jq -r .status)" "running" "renamed and running ($step)"
  expect_exit 1 pgd branch get "shop/$from"
  assert_eq "$(sql "shop/$to" "SELECT count(*) >= 10 FROM t")" "t" "its data ($step)"
  expect_exit 0 pgd doctor
done
pass "a rename killed after each step is finished by doctor --fix"
