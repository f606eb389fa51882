#!/usr/bin/env bash
# 'pgd setup --dir' on an existing btrfs directory works without root: an
# unprivileged user owns the directory, runs pgd, and Postgres runs as that user.
# The filesystem is mounted without user_subvol_rm_allowed, so deletes must
# still clean up (by emptying the subvolume and removing it).
source "$(dirname "$0")/lib.sh"

USER_NAME=nobody
truncate -s 2G "$T/own.img"
mkfs.btrfs -q "$T/own.img" >/dev/null 2>&1
mkdir -p "$MNT"  # lib.sh's cleanup unmounts $MNT
mount -o loop,noatime "$T/own.img" "$MNT"
mkdir -p "$MNT/pgd" "$T/userhome"
chown "$USER_NAME" "$MNT/pgd" "$T/userhome"
cp "$PGD" "$T/pgd-bin" && chmod 755 "$T/pgd-bin"

as_user() { runuser -u "$USER_NAME" -- env PGD_HOME="$T/userhome" "$T/pgd-bin" "$@"; }
user_sql() {  # BRANCH SQL
  local port password
  port=$(as_user branch get "$1" --json | jq -r .port)
  password=$(as_user branch password "$1")
  PGPASSWORD=$password psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -XtAq -c "$2"
}

as_user setup --dir "$MNT/pgd" >/dev/null
as_user setup --dir "$MNT/pgd" >/dev/null  # idempotent
as_user project create mine >/dev/null
user_sql mine/main "CREATE TABLE t AS SELECT generate_series(1, 10) AS i"
as_user branch create mine/dev >/dev/null
assert_eq "$(user_sql mine/dev "SELECT sum(i) FROM t")" "55" "branch data"
pid=$(head -n1 "$MNT/pgd/mine/dev/postmaster.pid")
assert_eq "$(ps -o user= -p "$pid")" "$USER_NAME" "Postgres runs as the invoking user"
pass "an unprivileged user sets up a btrfs directory and branches in it"

as_user branch delete mine/dev >/dev/null
[ -e "$MNT/pgd/mine/dev" ] && fail "subvolume left behind without user_subvol_rm_allowed"
as_user project delete mine >/dev/null
[ -e "$MNT/pgd/mine" ] && fail "project directory left behind"
pass "deletes clean up without user_subvol_rm_allowed"
