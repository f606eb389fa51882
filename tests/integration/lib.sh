# Shared by every integration scenario: a fresh pool (btrfs, or XFS with
# PGD_TEST_FS=xfs) on a loop-mounted image in a temp dir, its own PGD_HOME, and a cleanup that stops every
# postmaster it started (by pid), unmounts and removes everything.
# Usage: source lib.sh "$PGD_BINARY"
set -euo pipefail

PGD=$(realpath "${1:?usage: $0 PATH_TO_PGD}")
SCENARIO=$(basename "$0" .sh)

skip() { echo "SKIP: $SCENARIO: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (mount, loop devices)"
command -v mkfs.btrfs >/dev/null || skip "btrfs-progs not installed"
TEST_FS=${PGD_TEST_FS:-btrfs}
[ "$TEST_FS" = btrfs ] || command -v mkfs.xfs >/dev/null || skip "xfsprogs not installed"
[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "postgresql-15 not installed"

T=$(mktemp -d /tmp/pgd-it.XXXXXX)
chmod 755 "$T"  # the Postgres user must reach the pool and sockets below it
export PGD_HOME=$T/home
# pgd keeps libpq service and password entries per branch: in the test's files,
# never the machine's ~/.pg_service.conf and ~/.pgpass.
export PGSERVICEFILE=$T/pg_service.conf PGPASSFILE=$T/pgpass
MNT=$PGD_HOME/pool

# True when pid is gone or a zombie waiting for init to reap it.
process_gone() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -z "$state" ] || [[ "$state" == Z* ]]
}

# Stops every postmaster whose data directory is in this pool, by its pid.
stop_postmasters() {
  local f pid
  [ -d "$MNT" ] || return 0
  while read -r f; do
    pid=$(head -n1 "$f")
    [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do process_gone "$pid" && break; sleep 0.1; done
  done < <(find "$MNT" -maxdepth 4 -name postmaster.pid 2>/dev/null)
  # Last resort, for a test that failed half-way: postmasters whose data
  # directory is under this test's pool, found by their command line, ended by pid.
  local pids
  pids=$(ps -eo pid=,args= | awk -v m="$MNT/" '$2 ~ /postgres$/ && $3 == "-D" && index($4, m) == 1 {print $1}')
  for pid in $pids; do
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do process_gone "$pid" && break; sleep 0.1; done
  done
}

# Commands a scenario adds to run first at cleanup (e.g. removing a package).
CLEANUP_HOOKS=()

cleanup() {
  local rc=$?
  set +e
  local hook
  for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook"; done
  if [ "$rc" -ne 0 ] && [ -d "$PGD_HOME/logs" ] && [ -z "${KEEP_QUIET:-}" ]; then
    echo "--- server logs ($SCENARIO failed) ---"
    for f in "$PGD_HOME"/logs/*/*.log; do echo "==> $f"; tail -n 15 "$f"; done 2>/dev/null
  fi
  "$PGD" setup --detach >/dev/null 2>&1
  stop_postmasters
  for _ in 1 2 3 4 5; do
    mountpoint -q "$MNT" || break
    umount "$MNT" 2>/dev/null || sleep 1
  done
  if mountpoint -q "$MNT"; then
    echo "WARNING: could not unmount $MNT; leaving $T in place" >&2
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT

fail() { echo "FAIL: $SCENARIO: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

assert_eq() {  # actual expected what
  [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"
}
assert_contains() {  # haystack needle what
  [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got: $1"
}

# Runs a command expecting exit code $1; leaves stdout in $OUT, stderr in $ERR.
expect_exit() {
  local want=$1; shift
  set +e
  "$@" >"$T/stdout" 2>"$T/stderr"
  local got=$?
  set -e
  OUT=$(cat "$T/stdout"); ERR=$(cat "$T/stderr")
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; stdout: ${OUT:0:2000}; stderr: $ERR"
}

pgd() { "$PGD" "$@"; }
# Data directories of the postmasters running on this test's pool (other pgd
# pools on the machine, such as the demo's, are not the test's business).
pool_postmasters() {
  ps -u pgd -o args= | awk -v m="$MNT/" '$2 == "-D" && index($3, m) == 1 {print $3}' | sort
}
port_of() { "$PGD" branch get "$1" --json | jq -r .port; }

# sql PROJECT/BRANCH "SQL": runs SQL on the branch; the password reaches psql
# through its environment, never its command line.
sql() {
  local port password
  port=$(port_of "$1")
  password=$("$PGD" branch password "$1")
  PGPASSWORD=$password psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -XtAq \
    -v ON_ERROR_STOP=1 -c "$2"
}

# Filesystem-neutral views of the pool, so scenarios run on btrfs and XFS alike.
pool_sync() { sync -f "$MNT"; }
pool_used_bytes() {
  if [ "$TEST_FS" = btrfs ]; then
    btrfs filesystem sync "$MNT" >/dev/null
    btrfs filesystem usage -b "$MNT" 2>/dev/null | awk '/^ *Used:/ {print $2; exit}'
  else
    sync -f "$MNT"
    df -B1 --output=used "$MNT" | tail -n 1 | tr -d ' '
  fi
}
# Every volume (branch or snapshot data directory) on disk, as absolute paths.
pool_volumes() {
  if [ "$TEST_FS" = btrfs ]; then
    btrfs subvolume list "$MNT" | awk '{print $NF}' | sed "s|^|$MNT/|" | sort
  else
    find "$MNT" -mindepth 2 -maxdepth 2 -type d | sort
  fi
}
# True when the Postgres user cannot change the volume at $1.
volume_read_only() {
  if [ "$TEST_FS" = btrfs ]; then
    btrfs property get -ts "$1" ro | grep -q "ro=true"
  else
    [ -z "$(find "$1" -perm /222 -print -quit)" ] && ! runuser -u pgd -- touch "$1/global/pgd-probe" 2>/dev/null
  fi
}

setup_pool() {
  "$PGD" setup --pool-file "$T/pool.img" --size "${1:-3G}" --fs "$TEST_FS" >/dev/null
}
