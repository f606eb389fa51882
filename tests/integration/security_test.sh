#!/usr/bin/env bash
# Security defaults: localhost only, scram-sha-256, never root, secrets 0600,
# no password on a command line or in --json output.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create sec >/dev/null
pgd branch create sec/dev >/dev/null
password=$(pgd branch password sec/dev)
[ ${#password} -ge 24 ] || fail "password too short"

assert_eq "$(sql sec/dev "SHOW listen_addresses")" "127.0.0.1" "listen_addresses"
port=$(port_of sec/dev)
listeners=$(ss -Hltn "sport = :$port" | awk '{print $4}' | sort -u | tr '\n' ' ')
assert_eq "$listeners" "127.0.0.1:$port " "listening sockets"
pass "Postgres listens on 127.0.0.1 only"

assert_eq "$(sql sec/dev "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'host'")" \
  "scram-sha-256" "host auth method"
assert_eq "$(sql sec/dev "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'postgres'")" \
  "SCRAM-SHA-256" "stored password is a SCRAM verifier"
if PGPASSWORD=wrong psql -h 127.0.0.1 -p "$port" -U postgres -XtAc "SELECT 1" >/dev/null 2>&1; then
  fail "a wrong password was accepted"
fi
pass "scram-sha-256 authentication, wrong password refused"

pid=$(head -n1 "$MNT/sec/dev/postmaster.pid")
assert_eq "$(ps -o user= -p "$pid")" "pgd" "postmaster user"
pass "Postgres runs as the unprivileged user 'pgd'"

assert_eq "$(stat -c %a "$PGD_HOME/secrets/sec.password")" "600" "password file mode"
assert_eq "$(stat -c %a "$PGD_HOME/secrets")" "700" "secrets dir mode"
assert_eq "$(stat -c %a "$PGD_HOME/state.db")" "600" "state db mode"
assert_eq "$(stat -c %a "$MNT/sec/dev")" "700" "data dir mode"
assert_eq "$(stat -c %a "$PGD_HOME/run/$port")" "700" "socket dir mode"
sql sec/dev "SELECT pg_switch_wal()" >/dev/null
sql sec/dev "CREATE TABLE x (i int); SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 100); do [ -n "$(ls "$PGD_HOME/wal/sec/dev")" ] && break; sleep 0.1; done
assert_eq "$(stat -c '%a %U' "$PGD_HOME/wal/sec/dev")" "700 pgd" "archive dir mode and owner"
for f in "$PGD_HOME"/wal/sec/dev/*; do
  assert_eq "$(stat -c '%a %U' "$f")" "600 pgd" "archived file $f"
done
assert_eq "$(stat -c '%a' "$PGD_HOME/locks")" "700" "locks dir mode"
pass "secrets, state, data, sockets and WAL archives are private"

# Every command line on the machine, sampled while pgd works: creating a
# project (initdb, openssl) and a branch of one (libpq to the source).
samples="$T/ps-samples"
sample_ps_while() {
  "$@" >/dev/null &
  local pid=$! n=0
  while kill -0 "$pid" 2>/dev/null; do ps -eo args >>"$samples"; n=$((n + 1)); done
  wait "$pid" || fail "'$*' failed while its command lines were sampled"
  [ "$n" -ge 3 ] || fail "only $n ps samples taken during '$*'"
}
sample_ps_while "$PGD" branch create sec/scan
sample_ps_while "$PGD" project create sec2
password2=$(pgd branch password sec2/main)
grep -qF -- "$password" "$samples" && fail "password of 'sec' on a command line"
grep -qF -- "$password2" "$samples" && fail "password of 'sec2' on a command line"
grep -q "initdb" "$samples" || fail "the samples missed initdb, so they prove little"
pgd project delete sec2 >/dev/null
pgd branch delete sec/scan >/dev/null
pass "no password on any command line while projects and branches are made ($(grep -c '^' "$samples") lines sampled)"

for cmd in "branch get sec/dev" "branch list" "status" "project get sec" "doctor"; do
  # shellcheck disable=SC2086
  out=$("$PGD" $cmd --json) || fail "'pgd $cmd --json' failed: $out"
  jq -e . >/dev/null <<<"$out" || fail "'pgd $cmd --json' printed no JSON: $out"
  [[ "$out" == *"$password"* ]] && fail "'pgd $cmd --json' shows the password"
done
grep -rqF -- "$password" "$PGD_HOME/logs" && fail "password in a server log"
assert_eq "$(pgd branch password sec/dev --json | jq -r .password)" "$password" "password command"
pass "the password appears only through 'pgd branch password'"

# pgd connect runs psql with the password in its environment, not its arguments.
assert_eq "$(pgd connect sec/dev -- -XtAc "SELECT 6 * 7")" "42" "pgd connect runs psql on the branch"
assert_eq "$(pgd branch url sec/dev)" "postgresql://postgres@127.0.0.1:$port/postgres" "branch url"
"$PGD" connect sec/dev -- -XtAc "SELECT pg_sleep(2)" >/dev/null &
connect_pid=$!
sleep 1
ps -o args= -p "$connect_pid" | grep -qF -- "$password" && fail "password on psql's command line"
ps -o args= -p "$connect_pid" | grep -q "psql.*--port $port" || fail "pgd connect did not become psql: $(ps -o args= -p "$connect_pid")"
wait "$connect_pid"
pass "pgd connect and branch url keep the password off every command line"
