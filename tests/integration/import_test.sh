#!/usr/bin/env bash
# Import and refresh from a real PostgreSQL 15 on a test host of our own (a
# network namespace, test_host.sh): every object kind checked by SQL, the
# password kept out of ps and of everything pgd writes, a copy consistent
# under pgbench load, a refresh while a branch of the old main is in use, and
# the failures (bad input, unreachable host, wrong password, unknown database,
# missing extension, full pool, kill -9, a link cut mid-copy) leaving nothing.
source "$(dirname "$0")/lib.sh" "$1"
source "$(dirname "$0")/test_host.sh"
start_test_host  # before the pool is mounted: see test_host.sh
setup_pool 3G

SHOP=$HOST_URL_BASE/shop
as_app() {  # DB SQL, as the source's application role, over the network
  PGPASSWORD=$HOST_APP_PASSWORD psql -h "$HOST_ADDR" -U app -d "$1" -XtAq -v ON_ERROR_STOP=1 -c "$2"
}
in_copy() {  # PROJECT/BRANCH SQL: in the imported database of the branch
  local port password db
  port=$(port_of "$1")
  password=$(pgd branch password "$1")
  db=$(pgd branch get "$1" --json | jq -r .database)
  PGPASSWORD=$password psql -h 127.0.0.1 -p "$port" -U postgres -d "$db" -XtAq -v ON_ERROR_STOP=1 -c "$2"
}
nothing_left() {  # what: no project record, no volume, no server on the pool
  assert_eq "$(pgd project list --json | jq length)" "$1" "projects after $2"
  [ -z "$(pool_postmasters | grep -v -e /shop/ -e /bank/)" ] || fail "$2: a server still runs: $(pool_postmasters)"
  local vols
  vols=$(pool_volumes | grep -v -e "$MNT/shop/" -e "$MNT/bank/" || true)
  [ -z "$vols" ] || fail "$2: volumes left: $vols"
}

# --- The source: objects of every kind, owned by two roles ---------------------
host_sql postgres "create database shop owner app"
host_sql postgres "create role reporting nologin"
host_sql shop "create extension pg_trgm"
as_app shop "
  create table orders(id serial primary key, item text not null, qty int, note text);
  insert into orders(item, qty) select 'item ' || i, i % 50 from generate_series(1, 200000) i;
  create index orders_item_trgm on orders using gin (item gin_trgm_ops);
  create view big_orders as select * from orders where qty > 40;
  create function double_it(x int) returns int language sql immutable as 'select x * 2';
  create function stamp() returns trigger language plpgsql as
    \$\$ begin new.note := 'stamped'; return new; end \$\$;
  create trigger orders_stamp before insert on orders for each row execute function stamp();
  create sequence ticket_seq start 100;
  select nextval('ticket_seq');
  create table docs(id int primary key, body oid);
  insert into docs values (1, lo_from_bytea(0, 'hello large object'));
  grant select on orders to reporting;" >/dev/null
host_sql shop "create table audit(at timestamptz default now(), what text);
               alter table audit owner to reporting; grant select on audit to app"
SOURCE_ROWS=$(as_app shop "select count(*) from orders")

# --- Usage errors: refused before anything is asked or made -------------------
expect_exit 2 pgd project create shop --from "postgresql://app:$HOST_APP_PASSWORD@$HOST_ADDR/shop"
assert_contains "$ERR" "holds a password" "password in the URL"
[[ "$ERR$OUT" != *"$HOST_APP_PASSWORD"* ]] || fail "the password was echoed back"
expect_exit 2 pgd project create shop --from "host=$HOST_ADDR dbname='shop"
assert_contains "$ERR" "not a PostgreSQL connection string" "a malformed source"
nothing_left 0 "refused input"
pass "a password in --from, or a malformed one, is a usage error (exit 2)"

# --- Failures to connect: bounded, clear, nothing made --------------------------
started=$(date +%s)
PGPASSWORD=$HOST_APP_PASSWORD expect_exit 1 pgd project create shop \
  --from "postgresql://app@$HOST_NET.99:5432/shop" --connect-timeout 2
[ $(( $(date +%s) - started )) -le 8 ] || fail "an unreachable host took $(( $(date +%s) - started )) s"
assert_contains "$ERR" "timeout" "unreachable host"
PGPASSWORD=wrong-password expect_exit 1 pgd project create shop --from "$SHOP"
assert_contains "$ERR" "password authentication failed" "wrong password"
PGPASSWORD=$HOST_APP_PASSWORD expect_exit 1 pgd project create shop --from "$HOST_URL_BASE/nosuchdb"
assert_contains "$ERR" 'database "nosuchdb" does not exist' "unknown database"
expect_exit 1 pgd project create shop --from "$SHOP" </dev/null
assert_contains "$ERR" "PGPASSWORD" "no password anywhere"
nothing_left 0 "failed connections"
pass "unreachable host (2 s timeout), wrong password, unknown database, no password: exit 1, nothing made"

# --- An extension this machine lacks: refused before any copying ---------------
EXT_DIR=/usr/share/postgresql/15/extension
remove_probe_extension() { rm -f "$EXT_DIR/pgd_probe_ext.control" "$EXT_DIR/pgd_probe_ext--1.0.sql"; }
CLEANUP_HOOKS+=(remove_probe_extension)
printf "default_version = '1.0'\nrelocatable = true\n" >"$EXT_DIR/pgd_probe_ext.control"
echo "create function pgd_probe() returns int language sql as 'select 1';" >"$EXT_DIR/pgd_probe_ext--1.0.sql"
host_sql postgres "create database extdb owner app"
host_sql extdb "create extension pgd_probe_ext"
remove_probe_extension  # installed in the source; gone from "this machine"
PGPASSWORD=$HOST_APP_PASSWORD expect_exit 1 pgd project create ext --from "$HOST_URL_BASE/extdb"
assert_contains "$ERR" "apt-get install postgresql-15-pgd-probe-ext" "missing extension"
nothing_left 0 "missing extension"
pass "an extension missing here fails first, naming the package to install"

# --- The import: the password stays out of ps; every object arrives -----------
( while :; do ps -eo args; sleep 0.05; done ) >"$T/ps.txt" 2>/dev/null &
WATCHER=$!
stop_watcher() { kill "$WATCHER" 2>/dev/null || true; wait "$WATCHER" 2>/dev/null || true; }
CLEANUP_HOOKS+=(stop_watcher)
PGPASSWORD=$HOST_APP_PASSWORD pgd project create shop --from "$SHOP" --json >"$T/import.json" ||
  fail "import of shop failed"
stop_watcher
grep -q "pg_dump.*--data-only" "$T/ps.txt" || fail "the ps watcher never saw the copy running"
! grep -qF "$HOST_APP_PASSWORD" "$T/ps.txt" || fail "the source password showed in ps"
assert_eq "$(jq -r .import.rows "$T/import.json")" "$((SOURCE_ROWS + 1 + 0))" "rows copied (orders + docs)"
assert_eq "$(jq -r '.import.phases_ms | keys | join(",")' "$T/import.json")" \
  "analyze,connect,data,flush,indexes,roles,schema,verify" "import phases in --json"
assert_eq "$(jq -r .database "$T/import.json")" "shop" "database in --json"
pass "pgd project create --from: the password never in ps (the copy was watched running)"

assert_eq "$(in_copy shop/main "select count(*) from orders")" "$SOURCE_ROWS" "orders rows"
assert_eq "$(in_copy shop/main "select reltuples::bigint from pg_class where relname = 'orders'")" \
  "$SOURCE_ROWS" "planner statistics of the copy (analyzed)"
assert_eq "$(in_copy shop/main "select count(*) from big_orders") " \
  "$(as_app shop "select count(*) from big_orders") " "view"
assert_eq "$(in_copy shop/main "select double_it(21)")" "42" "function"
assert_eq "$(in_copy shop/main "insert into orders(item) values ('x') returning note")" "stamped" "trigger"
assert_eq "$(in_copy shop/main "select nextval('ticket_seq')")" "101" "sequence value"
assert_eq "$(in_copy shop/main "select convert_from(lo_get(body), 'UTF8') from docs")" "hello large object" "large object"
assert_eq "$(in_copy shop/main "select similarity('item 1', 'item 2') > 0")" "t" "pg_trgm"
assert_contains "$(in_copy shop/main "explain select * from orders where item like '%em 77%'")" \
  "orders_item_trgm" "the trigram index"
assert_eq "$(in_copy shop/main "select tableowner from pg_tables where tablename = 'orders'")" "app" "owner"
assert_eq "$(in_copy shop/main "select tableowner from pg_tables where tablename = 'audit'")" "reporting" "owner"
assert_eq "$(in_copy shop/main "select has_table_privilege('reporting', 'orders', 'select')")" "t" "grant"
assert_eq "$(in_copy shop/main "select rolcanlogin::text || coalesce(rolpassword, '-') from pg_authid where rolname = 'app'")" \
  "true-" "role copied without its password"
pass "views, functions, triggers, sequences, large objects, pg_trgm, owners and grants arrive"

assert_eq "$(pgd branch get shop/main --json | jq -r .database)" "shop" "branch get database"
assert_contains "$(pgd branch url shop/main)" "/shop" "the URI names the database"
assert_contains "$(cat "$PGSERVICEFILE")" "dbname=shop" "the service entry names the database"
assert_eq "$(psql "service=shop-main" -XtAc "select current_database()")" "shop" "psql service=shop-main"
assert_eq "$(pgd project get shop --json | jq -r .source)" "$SHOP" "project get shows the source"
! grep -rqF "$HOST_APP_PASSWORD" --exclude-dir=pool "$PGD_HOME" "$T/import.json" ||
  fail "the source password is in a file pgd wrote"
pass "connection details, service entry and project get name the imported database; no secret in pgd's files"

# --- The password from ~/.pgpass through a libpq service, or typed at a prompt ----
# Lines of our own beside pgd's block in the test's service and password files.
printf '\n[testhost-shop]\nhost=%s\nport=5432\ndbname=shop\nuser=app\n' "$HOST_ADDR" >>"$PGSERVICEFILE"
echo "$HOST_ADDR:5432:*:app:$HOST_APP_PASSWORD" >>"$PGPASSFILE"
pgd project create viaservice --from service=testhost-shop >/dev/null || fail "import via a service and .pgpass"
assert_eq "$(in_copy viaservice/main "select count(*) from orders")" "$SOURCE_ROWS" "rows via service"
assert_eq "$(pgd project get viaservice --json | jq -r .source)" "service=testhost-shop" "source of a service import"
pgd project delete viaservice >/dev/null
sed -i "/^$HOST_ADDR:5432:/d" "$PGPASSFILE"
pass "--from service=NAME, the password from the pgpass file"

# On a terminal (script(1) gives pgd one), pgd asks; the answer is typed 3 s later.
(sleep 3; printf '%s\n' "$HOST_APP_PASSWORD") |
  script -qefc "$PGD project create prompted --from $SHOP" /dev/null >"$T/prompt.txt" 2>&1 ||
  fail "import with a typed password: $(cat "$T/prompt.txt")"
assert_contains "$(cat "$T/prompt.txt")" "Password for the source of prompted:" "the prompt"
! grep -qF "$HOST_APP_PASSWORD" "$T/prompt.txt" || fail "the typed password was echoed"
assert_contains "$(cat "$T/prompt.txt")" "verify" "live phases on the terminal"
assert_eq "$(in_copy prompted/main "select count(*) from orders")" "$SOURCE_ROWS" "rows via the prompt"
pgd project delete prompted >/dev/null
pass "on a terminal pgd asks for the password (not echoed) and shows the phases live"

# --- Odd names: a database, a schema and a partitioned table that need quoting -----
host_sql postgres "create database \"Shop's DB\" owner app"
as_app "Shop's DB" "
  create schema \"Sales\";
  create table \"Sales\".\"Order Items\"(id int, at date not null, \"Qty\" int) partition by range (at);
  create table \"Sales\".\"Order Items 2025\" partition of \"Sales\".\"Order Items\"
    for values from ('2025-01-01') to ('2026-01-01');
  create table \"Sales\".\"Order Items 2026\" partition of \"Sales\".\"Order Items\"
    for values from ('2026-01-01') to ('2027-01-01');
  insert into \"Sales\".\"Order Items\" select i, date '2025-06-01' + (i % 400), i from generate_series(1, 3000) i;"
PGPASSWORD=$HOST_APP_PASSWORD pgd project create odd --from "host=$HOST_ADDR user=app dbname='Shop\\'s DB'" \
  >/dev/null || fail "import of a database with an odd name"
assert_eq "$(in_copy odd/main "select count(*) from \"Sales\".\"Order Items\"")" "3000" "rows of a partitioned table"
assert_eq "$(in_copy odd/main "select count(*) from \"Sales\".\"Order Items 2026\"")" \
  "$(as_app "Shop's DB" "select count(*) from \"Sales\".\"Order Items 2026\"")" "rows of one partition"
assert_contains "$(pgd branch url odd/main)" "/Shop%27s%20DB" "the URL encodes the name"
assert_eq "$(psql "$(pgd branch url odd/main)" -XtAc "select current_database()")" \
  "Shop's DB" "the URL (its password from the pgpass file) connects to the database"
assert_eq "$(psql "service=odd-main" -XtAc "select current_database()")" "Shop's DB" "the service entry"
pgd project delete odd >/dev/null
pass "a database named Shop's DB with a quoted schema and a partitioned table, from a key=value source"

# --- Consistent under write load -------------------------------------------------
host_sql postgres "create database bank owner app"
PGPASSWORD=$HOST_APP_PASSWORD pgbench -h "$HOST_ADDR" -U app -i -s 2 -q bank >/dev/null 2>&1
PGPASSWORD=$HOST_APP_PASSWORD pgbench -h "$HOST_ADDR" -U app -c 4 -T 60 bank >"$T/pgbench.txt" 2>&1 &
PGBENCH=$!
stop_pgbench() { kill "$PGBENCH" 2>/dev/null || true; wait "$PGBENCH" 2>/dev/null || true; }
CLEANUP_HOOKS+=(stop_pgbench)
sleep 2
PGPASSWORD=$HOST_APP_PASSWORD pgd project create bank --from "$HOST_URL_BASE/bank" >/dev/null ||
  fail "import under load failed"
kill -0 "$PGBENCH" 2>/dev/null || fail "pgbench was not writing through the import: $(cat "$T/pgbench.txt")"
sums=$(in_copy bank/main "select (select sum(abalance) from pgbench_accounts) = (select sum(bbalance) from pgbench_branches)
  and (select sum(bbalance) from pgbench_branches) = (select sum(tbalance) from pgbench_tellers)
  and (select sum(tbalance) from pgbench_tellers) = (select coalesce(sum(delta), 0) from pgbench_history)")
assert_eq "$sums" "t" "balances agree across the four tables of a copy made under load"
[ "$(in_copy bank/main "select count(*) from pgbench_history")" -gt 0 ] || fail "no transactions were copied"
stop_pgbench
pass "a copy made while pgbench writes is one consistent moment (balances agree)"

# --- Refresh while a branch of the old main is in use ---------------------------
pgd branch create shop/dev >/dev/null
DEV_ROWS=$(in_copy shop/dev "select count(*) from orders")
MAIN_PORT=$(port_of shop/main)
( ok=0; while [ ! -f "$T/stop-dev" ]; do in_copy shop/dev "insert into orders(item) values ('dev')" && ok=$((ok+1)) || echo failed; done; echo "ok $ok" ) >"$T/dev.txt" 2>&1 &
DEV_WRITER=$!
stop_dev_writer() { touch "$T/stop-dev"; wait "$DEV_WRITER" 2>/dev/null || true; }
CLEANUP_HOOKS+=(stop_dev_writer)
as_app shop "insert into orders(item) select 'fresh' from generate_series(1, 7)"
PGPASSWORD=$HOST_APP_PASSWORD pgd project refresh shop --json >"$T/refresh.json" || fail "refresh failed"
stop_dev_writer
! grep -q failed "$T/dev.txt" || fail "writes to shop/dev failed during the refresh: $(cat "$T/dev.txt")"
[ "$(awk '/^ok/ {print $2}' "$T/dev.txt")" -gt 0 ] || fail "the dev writer never wrote"
assert_eq "$(in_copy shop/main "select count(*) from orders where item = 'fresh'")" "7" "main holds the new rows"
assert_eq "$(in_copy shop/main "select count(*) from orders")" "$((SOURCE_ROWS + 7))" "main is the source again"
assert_eq "$(port_of shop/main)" "$MAIN_PORT" "main keeps its port"
[ "$(in_copy shop/dev "select count(*) from orders")" -gt "$DEV_ROWS" ] || fail "dev lost its writes"
assert_eq "$(in_copy shop/dev "select count(*) from orders where item = 'fresh'")" "0" "dev keeps the old data"
LABEL=$(jq -r .before_refresh "$T/refresh.json")
assert_contains "$LABEL" "before-refresh-" "the old main's snapshot"
pgd branch create shop/old --pitr "$LABEL" >/dev/null || fail "a branch of the before-refresh snapshot"
assert_eq "$(in_copy shop/old "select count(*) from orders where item = 'x'")" "1" "the old main's own write"
pass "refresh swaps a verified copy in under the same port; dev kept writing; the old main stays as $LABEL"

# --- kill -9 at each phase: doctor sees it and --fix leaves things whole --------
for step in schema data indexes; do
  PGPASSWORD=$HOST_APP_PASSWORD PGD_FAULT=project.refresh:$step expect_exit 137 pgd project refresh shop
  assert_eq "$(in_copy shop/main "select count(*) from orders")" "$((SOURCE_ROWS + 7))" "main after a kill at $step"
  expect_exit 1 pgd doctor
  assert_contains "$OUT" "project.refresh" "doctor after a kill at $step"
  pgd doctor --fix >/dev/null || fail "doctor --fix after a kill at $step"
  [ -z "$(pool_volumes | grep main.refresh)" ] || fail "the half-made copy stayed after a kill at $step"
done
as_app shop "insert into orders(item) select 'later' from generate_series(1, 3)"
PGPASSWORD=$HOST_APP_PASSWORD PGD_FAULT=project.refresh:swapped expect_exit 137 pgd project refresh shop
pgd doctor --fix >/dev/null || fail "doctor --fix after a kill past the swap"
assert_eq "$(in_copy shop/main "select count(*) from orders where item = 'later'")" "3" "refresh finished by doctor"
pgd doctor >/dev/null || fail "doctor still finds problems after finishing the refresh"
PGD_FAULT=project.create:data PGPASSWORD=$HOST_APP_PASSWORD expect_exit 137 pgd project create shop2 --from "$SHOP"
pgd doctor --fix >/dev/null || fail "doctor --fix after a killed import"
nothing_left 2 "a killed import"
pass "kill -9 of a refresh (schema, data, indexes, past the swap) or an import: doctor --fix repairs"

# --- A big source: kill -9 mid-stream, a cut link, a full pool -------------------
host_sql postgres "create database big owner app"
as_app big "create table wide as select i as id, repeat(md5(i::text), 6) as pad from generate_series(1, 1500000) i"
wait_for_stream() {  # until the data streams run
  for _ in $(seq 1 200); do
    ps -eo args | grep -q "[p]g_dump.*--data-only.*$HOST_ADDR" && return 0
    sleep 0.05
  done
  fail "the data stream never started"
}
stream_pids() {  # pg_dump reading the source, pg_restore writing the copy of big
  ps -eo pid=,args= | grep -E "pg_(dump|restore) .*($HOST_ADDR|dbname='big')" | grep -v grep | awk '{print $1}' || true
}

# "$PGD" itself, not the pgd function: $! must be pgd's pid, not a subshell's.
PGPASSWORD=$HOST_APP_PASSWORD "$PGD" project create big --from "$HOST_URL_BASE/big" --jobs 1 \
  >"$T/int.out" 2>"$T/int.err" &
IMPORT=$!
wait_for_stream
kill -INT "$IMPORT"
set +e; wait "$IMPORT"; rc=$?; set -e
assert_eq "$rc" "130" "exit code of an import interrupted by Ctrl-C"
[ -z "$(stream_pids)" ] || fail "pg_dump/pg_restore outlived an interrupted import: $(stream_pids)"
nothing_left 2 "Ctrl-C mid-stream"
pass "Ctrl-C mid-stream: the tools stop, the half-made project is removed, exit 130 ($(tail -n1 "$T/int.err"))"

PGPASSWORD=$HOST_APP_PASSWORD "$PGD" project create big --from "$HOST_URL_BASE/big" --jobs 1 >/dev/null 2>&1 &
IMPORT=$!
wait_for_stream
kill -9 "$IMPORT"; wait "$IMPORT" 2>/dev/null || true
for _ in $(seq 1 100); do [ -z "$(stream_pids)" ] && break; sleep 0.1; done
[ -z "$(stream_pids)" ] || fail "pg_dump/pg_restore outlived the killed pgd: $(stream_pids)"
pgd doctor --fix >/dev/null || fail "doctor --fix after kill -9 mid-stream"
nothing_left 2 "kill -9 mid-stream"
pass "kill -9 of pgd mid-stream: its pg_dump and pg_restore end with it; doctor --fix cleans up"

PGPASSWORD=$HOST_APP_PASSWORD "$PGD" project create big --from "$HOST_URL_BASE/big" --jobs 1 \
  >"$T/cut.out" 2>"$T/cut.err" &
IMPORT=$!
restore_link() { host_link up 2>/dev/null || true; }
CLEANUP_HOOKS+=(restore_link)
wait_for_stream
host_link down
started=$(date +%s)
set +e; wait "$IMPORT"; rc=$?; set -e
host_link up
assert_eq "$rc" "1" "exit code of an import whose link was cut"
[ $(( $(date +%s) - started )) -le 60 ] || fail "a cut link took $(( $(date +%s) - started )) s to notice"
! grep -qF "$HOST_APP_PASSWORD" "$T/cut.err" "$T/cut.out" || fail "the password in the error"
nothing_left 2 "a cut link"
pass "the link cut mid-copy: exit 1 after $(( $(date +%s) - started )) s ($(head -c 160 "$T/cut.err")...), nothing left"

# btrfs frees a deleted subvolume's space in the background: wait for that (the
# imports above were removed moments ago), or the free space grows after the
# filler is sized and the import no longer looks too big (seen once in CI).
[ "$TEST_FS" = btrfs ] && btrfs subvolume sync "$MNT" >/dev/null
pool_sync
fallocate -l "$(( $(df -B1 --output=avail "$MNT" | tail -n1) - (200 << 20) ))" "$MNT/filler"
PGPASSWORD=$HOST_APP_PASSWORD expect_exit 1 pgd project create big --from "$HOST_URL_BASE/big"
assert_contains "$ERR" "the source database big takes" "a full pool"
rm -f "$MNT/filler"
nothing_left 2 "a full pool"
pass "a source bigger than the pool's free space fails before copying"
