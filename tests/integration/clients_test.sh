#!/usr/bin/env bash
# At home with libpq tools: service and password file entries kept in step with
# the branches (the user's own lines untouched), TLS with the project's CA,
# shell completion, the man page, NO_COLOR and live progress on a terminal.
source "$(dirname "$0")/lib.sh"
setup_pool

# The user's own entries, which pgd must keep byte for byte.
printf '[mine]\nhost=db.example.com\ndbname=app\n' >"$PGSERVICEFILE"
printf 'db.example.com:5432:*:app:users-own-secret\n' >"$PGPASSFILE"
chmod 600 "$PGSERVICEFILE" "$PGPASSFILE"
users_service=$(cat "$PGSERVICEFILE")
users_pgpass=$(cat "$PGPASSFILE")

pgd project create cl >/dev/null
pgd branch create cl/dev >/dev/null
unset PGPASSWORD
assert_eq "$(psql service=cl-dev -XtAc "SELECT current_setting('port')")" "$(port_of cl/dev)" "psql service=cl-dev"
assert_eq "$(psql service=cl-main -XtAc "SELECT 1")" "1" "psql service=cl-main"
assert_eq "$(stat -c %a "$PGSERVICEFILE") $(stat -c %a "$PGPASSFILE")" "600 600" "client file modes"
assert_contains "$(cat "$PGSERVICEFILE")" "$users_service" "user's service entries kept"
assert_contains "$(cat "$PGPASSFILE")" "$users_pgpass" "user's pgpass entries kept"
pass "psql service=<project>-<branch> works through the service and password files"

# Through the password file alone, without the service file.
port=$(port_of cl/dev)
assert_eq "$(psql "host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=require" \
  -XtAc "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" "t" "sslmode=require via pgpass"
pass "a plain connection string finds its password in the pgpass file; sslmode=require works"

ca=$(pgd branch get cl/dev --json | jq -r .ssl_root_cert)
assert_eq "$ca" "$PGD_HOME/tls/cl/ca.crt" "branch get names the CA file"
for mode in verify-ca verify-full; do
  assert_eq "$(psql "host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=$mode sslrootcert=$ca" \
    -XtAc "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" "t" "sslmode=$mode"
done
pgd project create other >/dev/null
wrong_ca=$(pgd branch get other/main --json | jq -r .ssl_root_cert)
if psql "host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=verify-ca sslrootcert=$wrong_ca" \
  -XtAc "SELECT 1" >/dev/null 2>&1; then
  fail "another project's CA verified this project's server"
fi
assert_eq "$(stat -c '%a %U' "$PGD_HOME/tls/cl/server.key")" "600 pgd" "server key mode and owner"
[ -e "$PGD_HOME/tls/cl/ca.key" ] && fail "the CA key was kept"
pass "TLS: verify-ca and verify-full with the project's CA, another CA refused, CA key discarded"

pgd branch delete cl/dev >/dev/null
[[ "$(cat "$PGSERVICEFILE")" == *"[cl-dev]"* ]] && fail "deleted branch still in the service file"
grep -q ":$port:" "$PGPASSFILE" && fail "deleted branch still in the pgpass file"
pgd project delete cl --force >/dev/null
pgd project delete other --force >/dev/null
assert_eq "$(cat "$PGSERVICEFILE")" "$users_service" "service file after the last project"
assert_eq "$(cat "$PGPASSFILE")" "$users_pgpass" "pgpass file after the last project"
pass "deletes remove their entries; with no branches left the files are the user's again"

# Files that held nothing but pgd's block go away with the last branch.
(
  export PGSERVICEFILE=$T/own.conf PGPASSFILE=$T/own.pgpass
  pgd project create solo >/dev/null
  [ -s "$PGSERVICEFILE" ] && [ -s "$PGPASSFILE" ] || fail "client files not written"
  pgd project delete solo --force >/dev/null
  [ -e "$PGSERVICEFILE" ] || [ -e "$PGPASSFILE" ] && fail "empty client files left behind"
  true
)
pass "client files that only pgd wrote are removed with the last branch"

PGD_CLIENT_FILES=off pgd project create quiet >/dev/null
assert_eq "$(cat "$PGSERVICEFILE")" "$users_service" "PGD_CLIENT_FILES=off"
pgd project delete quiet --force >/dev/null
pass "PGD_CLIENT_FILES=off leaves the files alone"

# Two pgd homes of one user, side by side (a second pool, a test, a benchmark):
# each keeps its own block in the same files, named by its home.
home2=$T/home2
mkdir -p "$MNT/.second"  # a directory on the same filesystem; group names with a dot are not volumes
PGD_HOME=$home2 pgd setup --dir "$MNT/.second" >/dev/null
CLEANUP_HOOKS+=("PGD_HOME=$home2 \"\$PGD\" setup --detach >/dev/null 2>&1")
pgd project create one >/dev/null
PGD_HOME=$home2 pgd project create two >/dev/null
check_both() {
  assert_eq "$(psql service=one-main -XtAc "SELECT current_setting('port')")" "$(port_of one/main)" "one-main after $1"
  assert_eq "$(psql service=two-main -XtAc "SELECT current_setting('port')")" \
    "$(PGD_HOME=$home2 "$PGD" branch get two/main --json | jq -r .port)" "two-main after $1"
}
check_both "a command in each home"
pgd branch create one/dev >/dev/null
check_both "a command in the first home"
PGD_HOME=$home2 pgd branch create two/dev >/dev/null
check_both "a command in the second home"
assert_contains "$(cat "$PGSERVICEFILE")" "# >>> pgd managed block for $PGD_HOME:" "the first home's block"
assert_contains "$(cat "$PGPASSFILE")" "# <<< pgd managed block for $home2 <<<" "the second home's block"
PGD_HOME=$home2 pgd project delete two --force >/dev/null
[[ "$(cat "$PGSERVICEFILE")" == *"[two-"* ]] && fail "the second home's entries outlived its project"
assert_eq "$(psql service=one-dev -XtAc "SELECT 1")" "1" "one-dev after the second home emptied its block"
pgd project delete one --force >/dev/null
assert_eq "$(cat "$PGSERVICEFILE")" "$users_service" "service file after both homes' projects"
pass "two homes side by side keep each other's entries"

# A block written before blocks were keyed by home still works until its own
# home writes, which replaces it.
pgd project create old >/dev/null
port_old=$(port_of old/main)
{ printf '# >>> pgd managed block: regenerated by pgd, edits here are lost >>>\n'
  sed -n '/^\[old-main\]/,/^$/p' "$PGSERVICEFILE"
  printf '# <<< pgd managed block <<<\n'; cat "$PGSERVICEFILE"; } >"$T/legacy.conf"
sed -i "/# >>> pgd managed block for/,/# <<< pgd managed block for/d" "$T/legacy.conf"
cp "$T/legacy.conf" "$PGSERVICEFILE"
assert_contains "$(cat "$PGSERVICEFILE")" "port=$port_old" "the legacy block"
assert_eq "$(psql service=old-main -XtAc "SELECT 1")" "1" "psql through the legacy block"
PGD_HOME=$home2 pgd project create other2 >/dev/null
assert_eq "$(psql service=old-main -XtAc "SELECT 1")" "1" "legacy block after another home wrote"
pgd branch create old/dev >/dev/null
[[ "$(cat "$PGSERVICEFILE")" == *"# >>> pgd managed block: regenerated"* ]] && fail "the legacy block stayed after its home wrote"
assert_eq "$(psql service=old-main -XtAc "SELECT 1")" "1" "old-main from its keyed block"
PGD_HOME=$home2 pgd project delete other2 --force >/dev/null
pgd project delete old --force >/dev/null
assert_eq "$(cat "$PGSERVICEFILE")" "$users_service" "service file at the end"
pass "a legacy unkeyed block keeps working until its own home replaces it"

# Completion: subcommands, options and names from the state.
pgd project create comp >/dev/null
complete_words() {  # words... -> the candidates bash would offer for the last word
  bash -c 'source <("$0" completion bash)
    COMP_WORDS=(pgd "$@"); COMP_WORDS[0]=$0; COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    _pgd; echo "${COMPREPLY[*]}"' "$PGD" "$@"
}
assert_eq "$(complete_words bra)" "branch" "command completion"
assert_eq "$(complete_words branch re)" "reset rename" "subcommand completion"
assert_eq "$(complete_words branch ren)" "rename" "subcommand completion, longer prefix"
assert_eq "$(complete_words branch create x --f)" "--from" "option completion"
assert_eq "$(complete_words branch get co)" "comp/main" "branch names from the state"
assert_eq "$(complete_words project delete c)" "comp" "project names from the state"
if command -v zsh >/dev/null; then
  zsh -c 'source <("$0" completion zsh) && whence -w _pgd' "$PGD" | grep -q function ||
    fail "zsh completion does not define _pgd"
fi
expect_exit 2 "$PGD" completion fish
pass "bash and zsh completion of commands, options, projects and branches"

page=$("$PGD" man)
for section in ".SH NAME" ".SH SYNOPSIS" ".SH COMMANDS" ".SH EXIT STATUS"; do
  assert_contains "$page" "$section" "man page"
done
assert_contains "$page" 'pgd branch create \fIname\fR' "man page documents branch create"
assert_contains "$page" '\-\-pitr' "man page documents --pitr"
if command -v man >/dev/null; then
  assert_contains "$("$PGD" man | MANWIDTH=100 man -l - 2>/dev/null)" "pgd snapshot cleanup" "rendered man page"
fi
pass "the man page is generated from the command definitions"

# Colours only on a terminal and without NO_COLOR; progress lines only on a terminal.
on_tty() { script -qec "$*" /dev/null; }
esc=$'\033['
assert_contains "$(on_tty "$PGD" status)" "${esc}32mrunning" "status colours on a terminal"
[[ "$(NO_COLOR=1 on_tty "$PGD" status)" == *"$esc"* ]] && fail "colour despite NO_COLOR"
[[ "$("$PGD" status)" == *"$esc"* ]] && fail "colour in a pipe"
live=$(on_tty "$PGD" branch create comp/live)
assert_contains "$live" "checkpoint" "live progress"
assert_contains "$live" "…" "live progress shows the phase in progress"
piped=$("$PGD" branch create comp/piped 2>&1)
[[ "$piped" == *"…"* ]] && fail "progress line in a pipe"
assert_contains "$piped" "checkpoint" "phases summarized in a pipe"
pass "colours and live progress on a terminal only; NO_COLOR honoured"

# --json on every command with its documented keys.
keys=$(pgd branch get comp/main --json | jq -r 'keys | join(" ")')
for k in name project branch parent status host port user database uri created_at size_bytes \
         uptime_s service ssl_root_cert; do
  [[ " $keys " == *" $k "* ]] || fail "branch get --json lacks '$k'"
done
status_keys=$(pgd status --json | jq -r '.projects[0].branches[0] | keys | join(" ")')
for k in status port uptime_s size_bytes; do
  [[ " $status_keys " == *" $k "* ]] || fail "status --json lacks '$k'"
done
[ "$(pgd status --json | jq -r '.pool.free_bytes > 0')" = true ] || fail "status --json pool"
pass "--json keys of branch get and status"
