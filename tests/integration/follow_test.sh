#!/usr/bin/env bash
# Following a real PostgreSQL 15 primary on a test host of our own (a network
# namespace, test_host.sh): main streams (a row on the primary is on main
# within 2 s), branches of the live state (consistent under pgbench), the
# primary restarted and the link cut, PITR into production's past, promote,
# the replication password kept out of everything but its 0600 file, and the
# failures (bad input, unreachable, wrong password, no replication right, a
# slot in use, max_wal_senders exhausted, kill -9 during the base backup)
# leaving nothing here or on the primary.
source "$(dirname "$0")/lib.sh" "$1"
source "$(dirname "$0")/test_host.sh"
start_test_host  # before the pool is mounted: see test_host.sh
setup_pool 3G

REPL_PASSWORD=repl-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
host_sql postgres "create role replicator login replication" >/dev/null
printf '%s\n%s\n' "\\set pw '$REPL_PASSWORD'" "alter role replicator password :'pw';" |
  psql -h "$HOST_SOCK" -U postgres -d postgres -XqA -v ON_ERROR_STOP=1 >/dev/null
echo "host replication replicator,app $HOST_NET.0/24 scram-sha-256" >>"$HOST_DATA/pg_hba.conf"
host_sql postgres "select pg_reload_conf()" >/dev/null
host_sql postgres "create database shop owner app"
as_app() {  # DB SQL, as the application role, over the network
  PGPASSWORD=$HOST_APP_PASSWORD psql -h "$HOST_ADDR" -U app -d "$1" -XtAq -v ON_ERROR_STOP=1 -c "$2"
}
as_app shop "create table orders(id serial primary key, item text, at timestamptz default clock_timestamp())
             ; insert into orders(item) select 'item ' || i from generate_series(1, 1000) i"
PRIMARY="postgresql://replicator@$HOST_ADDR:5432/postgres"
follow() {  # PGD ARGS...: with the replication password where libpq looks for it
  PGPASSWORD=$REPL_PASSWORD "$@"
}
on_main() {  # DB SQL: on a following main, as postgres over its private socket
  local j
  j=$(pgd branch get "$1" --json)
  psql -h "$(jq -r .socket_dir <<<"$j")" -p "$(jq -r .port <<<"$j")" -U postgres -d "$2" -XtAq \
    -v ON_ERROR_STOP=1 -c "$3"
}
in_branch() {  # PROJECT/BRANCH DB SQL: with the project's password over TCP
  PGPASSWORD=$(pgd branch password "$1") psql -h 127.0.0.1 -p "$(port_of "$1")" -U postgres -d "$2" \
    -XtAq -v ON_ERROR_STOP=1 -c "$3"
}
slots() { host_sql postgres "select coalesce(string_agg(slot_name, ',' order by slot_name), '') from pg_replication_slots"; }
wait_for() {  # SECONDS WHAT COMMAND...: until the command prints "t"
  local limit=$1 what=$2; shift 2
  local start=$SECONDS
  while [ "$("$@" 2>/dev/null || true)" != t ]; do
    [ $((SECONDS - start)) -lt "$limit" ] || fail "$what: not within $limit s"
    sleep 0.1
  done
}

nothing_left() {  # what: no project, no volume, no server, no slot pgd made
  assert_eq "$(pgd project list --json | jq length)" "$1" "projects after $2"
  [ -z "$(pool_postmasters | grep -v -e "$MNT/shop/")" ] || fail "$2: a server still runs: $(pool_postmasters)"
  local vols
  vols=$(pool_volumes | grep -v -e "$MNT/shop/" || true)
  [ -z "$vols" ] || fail "$2: volumes left: $vols"
  [ -z "$(slots | tr ',' '\n' | grep -v -e '^pgd_shop$' -e '^taken$' || true)" ] || fail "$2: slots left: $(slots)"
}

# --- Refused before anything is made ----------------------------------------------
expect_exit 2 pgd project create shop --follow "postgresql://replicator:$REPL_PASSWORD@$HOST_ADDR/postgres"
assert_contains "$ERR" "--follow holds a password" "a password in the URL"
[[ "$ERR$OUT" != *"$REPL_PASSWORD"* ]] || fail "the password was echoed back"
expect_exit 2 pgd project create shop --follow "$PRIMARY" --slot "Bad-Slot"
assert_contains "$ERR" "lower-case letters" "a bad slot name"
expect_exit 2 pgd project create shop --follow "$PRIMARY" --from "$HOST_URL_BASE/shop"
expect_exit 2 pgd project create shop --slot pgd_shop
nothing_left 0 "usage errors"
expect_exit 1 pgd project create shop --follow "postgresql://replicator@$HOST_NET.3:5432/postgres" --connect-timeout 2
assert_contains "$ERR" "primary postgresql://replicator@$HOST_NET.3:5432/postgres" "an unreachable primary is named"
PGPASSWORD=wrong expect_exit 1 pgd project create shop --follow "$PRIMARY"
assert_contains "$ERR" "password authentication failed" "a wrong password"
PGPASSWORD=$HOST_APP_PASSWORD expect_exit 1 pgd project create shop --follow "postgresql://app@$HOST_ADDR/postgres"
assert_contains "$ERR" "replication" "a role without REPLICATION"
host_sql postgres "create role outsider login replication" >/dev/null
expect_exit 1 pgd project create shop --follow "postgresql://outsider@$HOST_ADDR/postgres"
assert_contains "$ERR" "pg_hba.conf" "a primary whose pg_hba.conf refuses"
host_sql postgres "select pg_create_physical_replication_slot('taken')" >/dev/null
follow expect_exit 1 pgd project create shop --follow "$PRIMARY" --slot taken
assert_contains "$ERR" "replication slot 'taken' already exists" "a slot in use"
assert_eq "$(slots)" "taken" "someone else's slot is left alone"
host_sql postgres "select pg_drop_replication_slot('taken')" >/dev/null
nothing_left 0 "refused primaries"
pass "bad input, an unreachable primary, wrong credentials, no replication right, a slot in use: refused, nothing made"

# --- Follow -------------------------------------------------------------------
follow expect_exit 0 pgd project create shop --follow "$PRIMARY" --slot pgd_shop
assert_contains "$OUT" "shop/main follows $PRIMARY" "the summary"
assert_eq "$(slots)" "pgd_shop" "the slot pgd made on the primary"
assert_eq "$(on_main shop/main shop "select count(*) from orders")" 1000 "rows on main"
assert_eq "$(on_main shop/main shop "select pg_is_in_recovery()")" t "main is a standby"
assert_eq "$(on_main shop/main shop "show listen_addresses")" 127.0.0.1 "main listens on localhost only"
as_app shop "insert into orders(item) values ('streamed')"
wait_for 2 "a row committed on the primary on main" on_main shop/main shop "select count(*) = 1 from orders where item = 'streamed'"
pass "main follows: a committed row is on it within 2 s"

J=$(pgd status --json)
assert_eq "$(jq -r '.projects[0].branches[0].following.receiver' <<<"$J")" streaming "status: streaming"
jq -e '.projects[0].branches[0].following.lag_bytes | numbers' <<<"$J" >/dev/null || fail "status: no lag in bytes: $J"
assert_contains "$(pgd status)" "following: streaming" "status table"
expect_exit 2 pgd project refresh shop
assert_contains "$ERR" "follows its primary" "refresh of a following project"
pass "status shows main following, with its lag"

expect_exit 0 pgd branch create shop/dev
assert_eq "$(in_branch shop/dev shop "select count(*) from orders where item = 'streamed'")" 1 "the row in a branch"
in_branch shop/dev shop "insert into orders(item) values ('branch only')"
assert_eq "$(in_branch shop/dev shop "select pg_is_in_recovery()")" f "the branch is writable"
assert_eq "$(on_main shop/main shop "select count(*) from orders where item = 'branch only'")" 0 "main untouched"
AS_OF=$(pgd branch get shop/dev --json | jq -r .as_of)
assert_eq "$(host_sql shop "select '$AS_OF'::timestamptz >= at from orders where item = 'streamed'")" t "as_of: the moment of production the branch holds ($AS_OF)"
sleep 1
BEFORE_LATER=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
sleep 1
in_branch shop/dev shop "insert into orders(item) values ('branch later')"
expect_exit 0 pgd branch create shop/devpast --from shop/dev --pitr "$BEFORE_LATER"
assert_eq "$(in_branch shop/devpast shop "select string_agg(item, ',' order by item) from orders where item like 'branch %'")" \
  "branch only" "PITR of a branch of the following main"
expect_exit 0 pgd branch delete shop/devpast
pass "a branch of the following main holds its state, is writable, and has its own history"

# --- The replication password: only in its 0600 file ----------------------------
PASSFILE=$PGD_HOME/replication/shop/primary.pgpass
assert_eq "$(stat -c '%a %U' "$PASSFILE")" "600 pgd" "the passfile's mode and owner"
LEAKS=$(grep -rl --exclude=primary.pgpass -e "$REPL_PASSWORD" "$PGD_HOME" "$T/pg_service.conf" "$T/pgpass" 2>/dev/null || true)
[ -z "$LEAKS" ] || fail "the replication password is in: $LEAKS"
[[ "$(pgd project get shop --json)$(pgd status --json)" != *"$REPL_PASSWORD"* ]] || fail "the password is in --json"
assert_contains "$(grep primary_conninfo "$MNT/shop/main/pgd-follow.conf")" "passfile=" "primary_conninfo names the passfile"
[ ! -e "$MNT/shop/dev/pgd-follow.conf" ] || fail "a branch kept the primary's address"
[[ "$(grep -rs primary_conninfo "$MNT/shop/dev/"*.conf || true)" == "" ]] || fail "a branch kept primary_conninfo"
ADDR_IN=$(grep -rls --exclude-dir=base --exclude-dir=global --exclude-dir=pg_wal -e "$HOST_ADDR" "$MNT/shop/dev" || true)
[ -z "$ADDR_IN" ] || fail "a branch holds the primary's address in: $ADDR_IN"
pass "the replication password is only in a 0600 file of the Postgres user; branches carry no primary_conninfo"

# --- Branches under load: each consistent --------------------------------------
PGPASSWORD=$HOST_APP_PASSWORD pgbench -h "$HOST_ADDR" -U app -i -s 5 -q shop >/dev/null 2>&1
PGPASSWORD=$HOST_APP_PASSWORD pgbench -h "$HOST_ADDR" -U app -c 4 -j 2 -T 20 shop >"$T/pgbench.log" 2>&1 &
BENCH=$!
stop_bench() { kill "$BENCH" 2>/dev/null || true; wait "$BENCH" 2>/dev/null || true; }
CLEANUP_HOOKS+=(stop_bench)
sleep 3
for i in 1 2 3; do
  expect_exit 0 pgd branch create "shop/load$i"
  assert_eq "$(in_branch "shop/load$i" shop "select (select sum(abalance) from pgbench_accounts) = (select coalesce(sum(delta), 0) from pgbench_history)")" t "load$i: sum(abalance) = sum(delta)"
  [ "$(in_branch "shop/load$i" shop "select count(*) from pgbench_history")" -gt 0 ] || fail "load$i: no pgbench transactions in it"
  sleep 2
done
wait "$BENCH" || fail "pgbench failed: $(tail -5 "$T/pgbench.log")"
pass "three branches made under pgbench -c4 on the primary, each consistent"

# --- The link cut for 10 s, the primary restarted: main catches up ----------------
host_link down
host_sql shop "insert into orders(item) values ('while cut')" >/dev/null
sleep 10
host_link up
wait_for 60 "main catching up after the link came back" on_main shop/main shop "select count(*) = 1 from orders where item = 'while cut'"
pass "the link cut for 10 s: main caught up"
echo "max_wal_senders = 1" >>"$HOST_DATA/postgresql.conf"
ip netns exec "$HOST_NS" runuser -u postgres -- "$HOST_BIN/pg_ctl" -D "$HOST_DATA" -m fast -w restart >/dev/null
host_sql shop "insert into orders(item) values ('after restart')" >/dev/null
wait_for 60 "main catching up after the primary restarted" on_main shop/main shop "select count(*) = 1 from orders where item = 'after restart'"
assert_eq "$(on_main shop/main shop "select count(*) from orders")" "$(host_sql shop "select count(*) from orders")" "nothing lost"
pass "the primary restarted: main reconnected by itself, nothing lost"
follow expect_exit 1 pgd project create other --follow "$PRIMARY"
assert_contains "$ERR" "max_wal_senders" "no WAL sender left on the primary"
nothing_left 1 "max_wal_senders exhausted"
sed -i '/^max_wal_senders = 1$/d' "$HOST_DATA/postgresql.conf"
ip netns exec "$HOST_NS" runuser -u postgres -- "$HOST_BIN/pg_ctl" -D "$HOST_DATA" -m fast -w restart >/dev/null
pass "a primary with no WAL sender left: refused, nothing made"

# --- PITR into production's past ----------------------------------------------
declare -a AT COUNT
moment() {  # I: 100 rows, then a target time and the primary's row count at it
  host_sql shop "insert into orders(item) select 'pitr $1' from generate_series(1, 100)" >/dev/null
  sleep 1
  AT[$1]=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  COUNT[$1]=$(host_sql shop "select count(*) from orders")
  sleep 1
}
moment 0
# Automatic snapshots keep replays short: main has had far more than 16 MB of
# WAL (pgbench) since its base, so it gets one; at once again, it does not.
wait_for 30 "main replaying moment 0" on_main shop/main shop "select count(*) = ${COUNT[0]} from orders"
expect_exit 0 pgd snapshot auto --max-replay 16M --json
assert_contains "$(jq -r '.branches[] | select(.branch == "shop/main") | .taken.label' <<<"$OUT")" "auto-" "an automatic snapshot of main"
expect_exit 0 pgd snapshot auto --max-replay 16M --json
assert_eq "$(jq -r '.branches[] | select(.branch == "shop/main") | .taken' <<<"$OUT")" null "no second one without new WAL"
moment 1
moment 2
host_sql shop "insert into orders(item) values ('after the targets')" >/dev/null
wait_for 30 "main replaying the last row" on_main shop/main shop "select count(*) = 1 from orders where item = 'after the targets'"
for i in 0 1 2; do
  expect_exit 0 pgd branch create "shop/past$i" --pitr "${AT[$i]}"
  assert_eq "$(in_branch "shop/past$i" shop "select count(*) from orders")" "${COUNT[$i]}" "rows at ${AT[$i]}"
  AS_OF=$(pgd branch get "shop/past$i" --json | jq -r .as_of)
  assert_eq "$(host_sql shop "select '$AS_OF'::timestamptz <= '${AT[$i]}'::timestamptz")" t "as_of $AS_OF at or before ${AT[$i]}"
done
pass "PITR on the following main: production at three moments, row for row, from its base and from an automatic snapshot"

# --- A full pool while following ---------------------------------------------
# PostgreSQL reacts in one of two ways, depending on which write fails first: a
# failed write into a WAL segment PANICs (main stops: restart_after_crash is
# off), a failed new segment file ends only the WAL receiver (main stays up,
# not receiving). Either way doctor names it and its cause, and main catches up
# once there is room.
# Only main is under test here: the other branches stop first (a full pool
# stops a branch that writes, which disk_full_test covers), and start after.
OTHERS=$(pgd branch list shop --json | jq -r '.[] | select(.branch != "main") | .name')
for b in $OTHERS; do pgd stop "$b" >/dev/null; done
dd if=/dev/zero of="$MNT/filler" bs=1M >/dev/null 2>&1 || true  # until ENOSPC
sync
host_sql shop "insert into orders(item) select 'while full ' || g from generate_series(1, 20000) g" >/dev/null
host_sql shop "select pg_switch_wal()" >/dev/null
sleep 3
expect_exit 1 pgd doctor
if [ "$(pgd branch get shop/main --json | jq -r .status)" = failed ]; then
  echo "# the full pool stopped main"
  assert_contains "$OUT" "shop/main: should be running" "doctor names the stopped main"
  [ "$(grep -c 'all server processes terminated; reinitializing' "$PGD_HOME/logs/shop/main.log")" -eq 0 ] ||
    fail "main looped through crash recovery instead of stopping"
else
  echo "# the full pool stopped main's WAL receiver"
  assert_contains "$OUT" "Following shop/main" "doctor checks the following main"
  assert_contains "$OUT" "not receiving WAL from its primary" "doctor names the stalled replication"
fi
assert_contains "$OUT" "No space left on device" "doctor names the cause"
rm -f "$MNT/filler"
sync
expect_exit 0 pgd doctor --fix
wait_for 60 "main catching up once space is free" on_main shop/main shop "select count(*) = 20000 from orders where item like 'while full %'"
expect_exit 0 pgd doctor
for b in $OTHERS; do pgd start "$b" >/dev/null; done
pass "a full pool while following: doctor names it; once there is room, doctor --fix and main catches up"

# --- Promote ------------------------------------------------------------------
expect_exit 0 pgd project promote shop
assert_eq "$(slots)" "" "the slot pgd made is dropped on promote"
assert_eq "$(in_branch shop/main shop "select pg_is_in_recovery()")" f "main is writable"
in_branch shop/main shop "insert into orders(item) values ('after promote')"
host_sql shop "insert into orders(item) values ('primary after promote')" >/dev/null
sleep 1
assert_eq "$(in_branch shop/main shop "select count(*) from orders where item = 'primary after promote'")" 0 "main no longer follows"
assert_eq "$(pgd project get shop --json | jq -r .following)" false "the record"
jq -e '.projects[0].branches[0] | has("following") | not' <<<"$(pgd status --json)" >/dev/null || fail "status still shows following"
assert_eq "$(in_branch shop/dev shop "select count(*) from orders where item = 'streamed'")" 1 "branches kept"
[ ! -e "$PASSFILE" ] || fail "the passfile outlived the promotion"
expect_exit 0 pgd branch create shop/after
assert_eq "$(in_branch shop/after shop "select count(*) from orders where item = 'after promote'")" 1 "a branch of the promoted main"
expect_exit 1 pgd project promote shop
assert_contains "$ERR" "does not follow a primary" "promote twice"
pass "promote: main writable, slot dropped, branches and history kept"

# --- Ctrl-C and kill -9 during the base backup ------------------------------------
# "$PGD" itself, not the pgd function: $! must be pgd's pid.
start_big() {  # sets BIG (pgd) and BB (its pg_basebackup)
  PGPASSWORD=$REPL_PASSWORD "$PGD" project create big --follow "$PRIMARY" --slot pgd_big >"$T/big.log" 2>&1 &
  BIG=$!
  BB=
  for _ in $(seq 1 500); do
    BB=$(pgrep -P "$BIG" -x pg_basebackup || true)
    [ -n "$BB" ] && break
    sleep 0.01
  done
  [ -n "$BB" ] || fail "no pg_basebackup seen: $(cat "$T/big.log")"
}
start_big
kill -INT "$BIG"
set +e; wait "$BIG"; rc=$?; set -e
assert_eq "$rc" 130 "exit code of a follow interrupted by Ctrl-C ($(cat "$T/big.log"))"
process_gone "$BB" || fail "pg_basebackup outlived an interrupted pgd"
assert_eq "$(slots)" "" "the slot made before Ctrl-C is dropped"
nothing_left 1 "Ctrl-C during the base backup"
pass "Ctrl-C during the base backup: exit 130, the slot dropped, nothing left"
start_big
[[ "$(ps -o args= -p "$BB")" != *"$REPL_PASSWORD"* ]] || fail "the password is on pg_basebackup's command line"
kill -9 "$BIG"
wait "$BIG" 2>/dev/null || true
for _ in $(seq 1 100); do process_gone "$BB" && break; sleep 0.1; done
process_gone "$BB" || fail "pg_basebackup outlived pgd"
assert_contains "$(slots)" "pgd_big" "the slot made before the kill"
expect_exit 1 pgd doctor
assert_contains "$OUT$ERR" "big" "doctor names the half-made project"
expect_exit 0 pgd doctor --fix
assert_eq "$(slots)" "" "doctor --fix dropped the slot on the primary"
nothing_left 1 "kill -9 during the base backup"
pass "kill -9 during the base backup: doctor --fix removes the project and its slot"

# --- Delete drops the slot ------------------------------------------------------
follow expect_exit 0 pgd project create mirror --follow "$PRIMARY" --slot pgd_mirror
assert_eq "$(slots)" "pgd_mirror" "the second project's slot"
expect_exit 0 pgd project delete mirror
assert_eq "$(slots)" "" "project delete drops its slot"
expect_exit 0 pgd project delete shop --force
pass "project delete drops the slot pgd made"
