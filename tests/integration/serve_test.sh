#!/usr/bin/env bash
# pgd serve: the daemon answers every branch's published port. A sleeping
# branch wakes on the first connection (twenty at once start it once), TLS
# passes through untouched (verify-full), idle branches stop, expired ones are
# deleted, protected ones refuse delete and reset, a schedule takes snapshots
# that PITR uses, kill -9 of the daemon loses no committed row, and stopping the
# daemon puts every server back on its own port.
source "$(dirname "$0")/lib.sh"
command -v pgbench >/dev/null || skip "pgbench not installed"
setup_pool

LOG=$T/serve.log
SERVE_PID=""
start_daemon() {
  PGD_SERVE_TICK_MS=200 "$PGD" serve --log "$LOG" "$@" &
  SERVE_PID=$!
  for _ in $(seq 1 100); do
    [ -S "$PGD_HOME/run/serve.sock" ] && grep -q "serving" "$LOG" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "pgd serve did not come up: $(cat "$LOG")"
}
stop_daemon() {
  [ -n "$SERVE_PID" ] || return 0
  kill -TERM "$SERVE_PID" 2>/dev/null
  wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=""
}
# On failure, the daemon's log too ($rc is cleanup's).
CLEANUP_HOOKS+=('stop_daemon; [ "$rc" -eq 0 ] || { echo "--- serve log ---"; tail -n 40 "$LOG"; }')
wakes_of() { grep -c "woke $1 " "$LOG" || true; }
listen_port_of() { sed -n 4p "$MNT/$1/postmaster.pid"; }
listens_on() { [ "$(listen_port_of "$1" 2>/dev/null)" = "$2" ]; }
wait_for() {  # seconds description command...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  fail "timed out after ${secs}s waiting for: $what"
}
status_is() { [ "$(pgd branch get "$1" --json | jq -r .status)" = "$2" ]; }

pgd project create shop >/dev/null
sql shop/main "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)"
pgd branch create shop/dev >/dev/null
sql shop/dev "INSERT INTO t VALUES (101)"

# --- taking over: servers started without the daemon move behind it ---------
start_daemon
dev_port=$(port_of shop/dev)
wait_for 10 "shop/dev moved behind the daemon" grep -q "shop/dev moved behind pgd serve" "$LOG"
wait_for 10 "shop/main moved behind the daemon" grep -q "shop/main moved behind pgd serve" "$LOG"
wait_for 10 "shop/dev up on its private port" listens_on shop/dev "$((dev_port + 2000))"
assert_eq "$(sql shop/dev "SELECT count(*) FROM t")" "101" "data through the daemon"
assert_contains "$(pgd status --no-size)" "pgd serve: running" "status says the daemon runs"
pass "servers started without the daemon move to their private ports; the published port answers"

# --- idle stop, then wake on connect ------------------------------------------
pgd branch set shop/dev --idle-stop 1s >/dev/null
assert_eq "$(pgd branch get shop/dev --json | jq -r .idle_stop_s)" "1" "idle_stop_s shown"
assert_eq "$(pgd branch get shop/main --json | jq -r .idle_stop_s)" "null" "main never stops by default"
wait_for 10 "shop/dev asleep" status_is shop/dev sleeping
[ -f "$MNT/shop/dev/postmaster.pid" ] && fail "a sleeping branch's server still runs"
before=$(wakes_of shop/dev)
# inet_server_port() tells the two paths apart: a connection the daemon relays
# reaches the private port; one the kernel steered keeps the port it dialled.
assert_eq "$(sql shop/dev "SELECT count(*) || ':' || inet_server_port() FROM t")" "101:$((dev_port + 2000))" \
  "the first query on a sleeping branch (held, then relayed by the daemon)"
assert_eq "$(wakes_of shop/dev)" "$((before + 1))" "one wake"
grep -q "connections to awake branches go straight to their servers" "$LOG" ||
  fail "kernel steering is off: $(grep -m1 relaying "$LOG")"
assert_eq "$(sql shop/dev "SELECT inet_server_port()")" "$dev_port" "the next connection goes straight to the server"
assert_eq "$(pgd branch get shop/dev --json | jq -r .port)" "$dev_port" "the port stays"
pass "an idle branch sleeps; the first connection wakes it and is answered"

# --- twenty first connections at once start it once ---------------------------
pgd branch set shop/dev --idle-stop 1s >/dev/null
wait_for 10 "shop/dev asleep again" status_is shop/dev sleeping
before=$(wakes_of shop/dev)
password=$(pgd branch password shop/dev)
clients=()
for i in $(seq 1 20); do
  PGPASSWORD=$password psql -h 127.0.0.1 -p "$dev_port" -U postgres -d postgres -XtAq \
    -c "SELECT count(*) FROM t" >"$T/c$i.out" 2>&1 &
  clients+=($!)
done
wait "${clients[@]}"
for i in $(seq 1 20); do assert_eq "$(cat "$T/c$i.out")" "101" "client $i of 20"; done
assert_eq "$(wakes_of shop/dev)" "$((before + 1))" "twenty clients, one wake"
assert_contains "$(grep "woke shop/dev " "$LOG" | tail -n 1)" "for " "the wake names its clients"
pass "20 concurrent first connections to a sleeping branch: all answered, one start"

# --- awake: a client the kernel hands to the server keeps the branch awake ------
sleeps_of() { grep -c "$1 sleeps after" "$LOG" || true; }
before=$(sleeps_of shop/dev)
held=$(PGPASSWORD=$password psql -h 127.0.0.1 -p "$dev_port" -U postgres -d postgres -XtAq \
  -c "SELECT inet_server_port() || ':' || count(*) FROM t, pg_sleep(3)")
assert_eq "$held" "$dev_port:101" "a steered session that outlives the 1 s idle stop"
assert_eq "$(sleeps_of shop/dev)" "$before" "no sleep while a steered client was connected"
wait_for 10 "shop/dev asleep once the client left" status_is shop/dev sleeping
pass "an awake branch's new connections go straight to its server, and they keep it awake"

# --- TLS: verify-full against the project's CA, relayed and steered ---------
pgd branch set shop/dev --idle-stop never >/dev/null
ca=$(pgd branch get shop/dev --json | jq -r .ssl_root_cert)
tls_query() {
  PGPASSWORD=$password psql "host=127.0.0.1 port=$dev_port user=postgres dbname=postgres sslmode=verify-full sslrootcert=$ca" \
    -XtAq -c "SELECT ssl::text || ':' || inet_server_port() FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
}
assert_eq "$(tls_query)" "true:$((dev_port + 2000))" "a verify-full session that wakes the branch (relayed)"
assert_eq "$(tls_query)" "true:$dev_port" "a verify-full session to the awake branch (steered)"
pass "TLS verify-full on the published port, waking (bytes relayed untouched) and awake"

# --- a branch that cannot start: the client gets PostgreSQL's error ----------
pgd branch create shop/broken >/dev/null
pgd branch set shop/broken --idle-stop 1s >/dev/null
wait_for 10 "shop/broken asleep" status_is shop/broken sleeping
echo "pgd_test_no_such_setting = 1" >>"$MNT/shop/broken/postgresql.conf"
broken_port=$(port_of shop/broken)
expect_exit 2 env PGPASSWORD="$password" psql -h 127.0.0.1 -p "$broken_port" -U postgres -d postgres -XtAq -c "SELECT 1"
assert_contains "$ERR" "could not wake shop/broken" "the client is told why"
sed -i '/pgd_test_no_such_setting/d' "$MNT/shop/broken/postgresql.conf"
assert_eq "$(sql shop/broken "SELECT count(*) FROM t")" "100" "it wakes once it can"
pgd stop shop/broken >/dev/null
expect_exit 2 env PGPASSWORD="$password" psql -h 127.0.0.1 -p "$broken_port" -U postgres -d postgres -XtAq -c "SELECT 1"
assert_contains "$ERR" "is stopped: start it with 'pgd start shop/broken'" "a stopped branch is not woken"
pass "a failed wake and a stopped branch give the client a PostgreSQL error message"

# --- protection -----------------------------------------------------------------
pgd branch set shop/dev --protected >/dev/null
assert_eq "$(pgd branch get shop/dev --json | jq -r .protected)" "true" "protected shown"
expect_exit 1 pgd branch delete shop/dev
assert_contains "$ERR" "branch 'shop/dev' is protected: delete refused" "delete refused"
expect_exit 1 pgd branch reset shop/dev
assert_contains "$ERR" "protected: reset refused" "reset refused"
expect_exit 1 pgd project delete shop --force
assert_contains "$ERR" "protected" "project delete refused"
assert_eq "$(sql shop/dev "SELECT count(*) FROM t")" "101" "a protected branch keeps its data"
pgd branch set shop/dev --no-protected >/dev/null
pass "a protected branch refuses delete, reset and its project's delete until unprotected"

# --- expiry ------------------------------------------------------------------------
pgd branch create shop/pr-1 --ttl 2s >/dev/null
pgd branch create shop/pr-2 --ttl 2s >/dev/null
pgd branch create shop/pr-2-child --from shop/pr-2 >/dev/null  # does not expire: keeps its parent
pgd branch set shop/dev --ttl 1h >/dev/null
expires=$(pgd branch get shop/pr-1 --json | jq -r .expires_at)
[ "$expires" != null ] || fail "expires_at not shown"
assert_contains "$(pgd status --no-size)" "expires in" "status shows the TTL"
wait_for 20 "shop/pr-1 deleted" sh -c "! '$PGD' branch get shop/pr-1 >/dev/null 2>&1"
wait_for 10 "the keep reported" grep -q "kept shop/pr-2: expired, but branch 'shop/pr-2-child'" "$LOG"
status_is shop/pr-2 running || status_is shop/pr-2 sleeping || fail "shop/pr-2 was deleted with a live child"
grep -q "shop-pr-1" "$PGSERVICEFILE" && fail "the expired branch's service entry is left"
pgd branch set shop/pr-2-child --ttl 1s >/dev/null
wait_for 20 "shop/pr-2 and its child deleted" sh -c "! '$PGD' branch get shop/pr-2 >/dev/null 2>&1"
expect_exit 1 pgd branch get shop/pr-2-child
expect_exit 2 pgd branch set shop/main --ttl 1d
expect_exit 2 pgd branch set shop/dev --ttl soon
expect_exit 2 pgd branch set shop/dev
pass "expired branches are deleted (children first, none with a live child); bad settings exit 2"

# --- a command and the daemon on one branch at once: the project lock serializes ---
# A holder of the project's lock (flock, as every pgd command takes it) makes
# the daemon's wake and a delete, or an expiry and a reset, queue for it; which
# goes first is the scheduler's choice. Either order must end whole: the branch
# gone, no server left running, doctor clean, and the client's end one the
# order explains.
lock_file=$PGD_HOME/locks/shop.lock
server_of() { ps -eo pid=,args= | awk -v d="$MNT/shop/$1" '{ for (i = 1; i < NF; i++) if ($i == "-D" && $(i + 1) == d) print $1 }'; }
pgd branch create shop/gone >/dev/null
pgd branch set shop/gone --idle-stop 1s >/dev/null
wait_for 10 "shop/gone asleep" status_is shop/gone sleeping
gone_port=$(port_of shop/gone)
flock "$lock_file" sleep 2 &
holder=$!
sleep 0.3
PGPASSWORD=$password psql -h 127.0.0.1 -p "$gone_port" -U postgres -d postgres -XtAq \
  -c "SELECT count(*) FROM t" >"$T/gone.out" 2>&1 &
client=$!
sleep 0.3  # the wake now waits for the lock
"$PGD" branch delete shop/gone >"$T/delete.out" 2>&1 &
deleter=$!
wait "$holder"
wait "$deleter" || fail "delete during a wake: $(cat "$T/delete.out")"
wait "$client" || true  # answered or refused: its output says which, checked below
expect_exit 1 pgd branch get shop/gone
[ -z "$(server_of gone)" ] || fail "a server of the deleted branch still runs: $(server_of gone)"
# The client's end depends on the order: refused with a PostgreSQL error
# (delete first), answered (wake first), or cut by the delete's immediate
# shutdown of the server it reached, then mid-handshake as likely as not.
grep -qx "101" "$T/gone.out" || grep -q "FATAL" "$T/gone.out" ||
  grep -qE "EOF detected|server closed the connection unexpectedly" "$T/gone.out" ||
  fail "the waking client got neither an answer, a PostgreSQL error nor the server's close: $(cat "$T/gone.out")"
expect_exit 0 pgd doctor

pgd branch create shop/temp --ttl 3s >/dev/null
sql shop/temp "INSERT INTO t VALUES (500)"
flock "$lock_file" sleep 4 &  # past the expiry
holder=$!
sleep 0.3
"$PGD" branch reset shop/temp >"$T/reset.out" 2>&1 &
resetter=$!
wait "$holder"
reset_rc=0
wait "$resetter" || reset_rc=$?
case $reset_rc in
  0) ;;  # the reset went first; the expiry follows
  1) assert_contains "$(cat "$T/reset.out")" "does not exist" "a reset after the expiry is told why" ;;
  *) fail "reset during an expiry exited $reset_rc: $(cat "$T/reset.out")" ;;
esac
wait_for 20 "shop/temp expired" sh -c "! '$PGD' branch get shop/temp >/dev/null 2>&1"
[ -z "$(server_of temp)" ] || fail "a server of the expired branch still runs"
expect_exit 0 pgd doctor
pass "a delete during a wake and an expiry during a reset are serialized by the project lock"

# --- schedules: snapshots the daemon takes, PITR across them --------------------
sql shop/main "CREATE TABLE log (id int PRIMARY KEY, at timestamptz NOT NULL)"
pgd project set shop --snapshot-every 5s --keep-snapshots 1h --keep-wal 1h >/dev/null
assert_eq "$(pgd project get shop --json | jq -r .policies.snapshot_every_s)" "5" "the policy is recorded"
for i in $(seq 1 12); do sql shop/main "INSERT INTO log VALUES ($i, clock_timestamp())"; sleep 1; done
scheduled=$(pgd snapshot list shop/main --json | jq '[.[] | select(.label // "" | startswith("sched-"))] | length')
[ "$scheduled" -ge 2 ] || fail "the schedule took $scheduled snapshots of main in 12 s"
target=$(sql shop/main "SELECT to_char((at + interval '500 ms') AT TIME ZONE 'UTC',
          'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM log WHERE id = 9")
pgd branch create shop/at9 --pitr "$target" >/dev/null
assert_eq "$(sql shop/at9 "SELECT count(*) || ':' || max(id) FROM log")" "9:9" "PITR between scheduled snapshots"
pgd project set shop --snapshot-every none >/dev/null
pass "the schedule takes snapshots ($scheduled of main in 12 s); PITR across them is exact"

# --- kill -9 of the daemon under load: no committed row lost, clients reconnect ---
sql shop/main "CREATE TABLE acks (id int PRIMARY KEY)"
main_port=$(port_of shop/main)
main_password=$(pgd branch password shop/main)
PGPASSWORD=$main_password pgbench -i -s 1 -q -h 127.0.0.1 -p "$main_port" -U postgres postgres >/dev/null 2>&1
PGPASSWORD=$main_password pgbench -c 4 -T 8 -h 127.0.0.1 -p "$main_port" -U postgres postgres >"$T/pgbench.out" 2>&1 &
bench=$!
# A writer that reconnects for each row and records what the server acknowledged.
(
  for i in $(seq 1 150); do
    if PGPASSWORD=$main_password psql -h 127.0.0.1 -p "$main_port" -U postgres -d postgres -XtAq \
         -c "INSERT INTO acks VALUES ($i)" >/dev/null 2>&1; then echo "$i"; fi
    sleep 0.01
  done
) >"$T/acked" &
writer=$!
sleep 2
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
SERVE_PID=""
sleep 0.5
start_daemon  # as systemd's Restart=always does
wait "$writer"
wait "$bench" || true
acked=$(wc -l <"$T/acked")
[ "$acked" -ge 50 ] || fail "only $acked rows were acknowledged"
missing=$(sql shop/main "SELECT count(*) FROM unnest(ARRAY[$(paste -sd, "$T/acked")]) AS a(id)
                          WHERE NOT EXISTS (SELECT 1 FROM acks WHERE acks.id = a.id)")
assert_eq "$missing" "0" "acknowledged rows after kill -9 of the daemon"
last=$(tail -n 1 "$T/acked")
assert_eq "$last" "150" "the writer reconnected after the restart"
assert_eq "$(sql shop/main "SELECT count(*) FROM pgbench_accounts")" "100000" "pgbench's tables intact"
expect_exit 0 pgd doctor
# The steering program lives as long as the daemon's descriptors: no server it
# started may have inherited one (they would keep it attached after a kill -9).
for pidfile in "$MNT"/shop/*/postmaster.pid; do
  pid=$(head -n 1 "$pidfile")
  ! ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "bpf" || fail "server $pid holds a BPF descriptor"
done
pass "kill -9 of the daemon under pgbench: $acked acknowledged rows all present, clients reconnect"

# --- stopping the daemon puts servers back on their ports ---------------------------
pgd branch set shop/dev --idle-stop 1s >/dev/null
wait_for 10 "shop/dev asleep" status_is shop/dev sleeping
stop_daemon
assert_eq "$(listen_port_of shop/main)" "$main_port" "main back on its published port"
assert_contains "$(pgd status --no-size)" "pgd serve: not running" "status says no daemon"
assert_eq "$(pgd branch get shop/dev --json | jq -r .status)" "sleeping" "a sleeping branch stays asleep"
expect_exit 1 pgd doctor
assert_contains "$OUT" "sleeps but pgd serve is not running" "doctor names a branch nothing will wake"
pgd start shop/dev >/dev/null
assert_eq "$(listen_port_of shop/dev)" "$dev_port" "started without the daemon: on its own port"
assert_eq "$(sql shop/dev "SELECT count(*) FROM t")" "101" "data without the daemon"
expect_exit 0 pgd doctor
pass "without the daemon every server listens on its own port again"

# --- --relay-only: the daemon passes every connection, TLS included -------------
start_daemon --relay-only
grep -q "relaying every connection (--relay-only)" "$LOG" || fail "the daemon did not say it relays everything"
wait_for 15 "shop/dev behind the daemon" listens_on shop/dev "$((dev_port + 2000))"
for i in 1 2; do
  assert_eq "$(sql shop/dev "SELECT inet_server_port()")" "$((dev_port + 2000))" "an awake branch's connection $i, relayed"
done
assert_eq "$(tls_query)" "true:$((dev_port + 2000))" "verify-full through the relay"
stop_daemon
pass "--relay-only: every connection passes through the daemon, TLS verify-full included"

# --- a daemon killed and not restarted: doctor finds the servers it left ------
start_daemon
wait_for 15 "main behind the daemon again" listens_on shop/main "$((main_port + 2000))"
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
SERVE_PID=""
expect_exit 1 pgd doctor
assert_contains "$OUT" "listens on its private port $((main_port + 2000)) but pgd serve is not running" "doctor sees it"
expect_exit 0 pgd doctor --fix
assert_eq "$(listen_port_of shop/main)" "$main_port" "doctor --fix puts main back on its port"
assert_eq "$(sql shop/main "SELECT count(*) FROM t")" "100" "main's data after the fix"
pass "servers left on their private ports by a dead daemon are found and fixed by doctor"
