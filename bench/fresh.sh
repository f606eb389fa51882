#!/usr/bin/env bash
# A fresh branch's first minutes (issue 26): the way branches are used is
# branch -> migrate -> run the tests -> delete, all while every first write to a
# block the branch still shares with its parent costs a copy. Three targets in
# one run, their rounds interleaved (the order rotates) so the VM's drift falls
# on all alike:
#   btrfs  a pgd branch on a btrfs pool (pgd's default)
#   xfs    a pgd branch on an XFS pool
#   ext4   a plain copy of the same data on ext4 on a loop image of the same
#          size, a plain PostgreSQL with a pgd branch's settings: the floor
#          without branching (the copy is made before the job, untimed)
# Each round and target runs two jobs, each from a cold page cache:
#   fresh  a new branch, 5 s of pgbench tpcb-like (-c4 -j2) as a warm-up, then
#          30 s measured: its TPS
#   ci     a CI-style job, timed whole: create the branch; a migration (a column
#          with a default added to pgbench_accounts, an index built on it, 10% of
#          the rows backfilled); 60 s of tpcb-like (short transactions over a
#          spread of rows), TPS per 10 s window; delete the branch
# Usage: sudo bash bench/fresh.sh [build/pgd]
# Env: BENCH_SCALE (50), BENCH_ROUNDS (3), BENCH_JSON=FILE, BENCH_REPORT=FILE.
SCALE=${BENCH_SCALE:-50}
ROUNDS=${BENCH_ROUNDS:-3}
SIZE=30G
EXT_PORT=27950
EXTRA_CLEANUP='for d in "$T"/ext4/job "$T"/ext4/template; do [ -f "$d/postmaster.pid" ] && runuser -u pgd -- "$PGBIN/pg_ctl" -D "$d" -m immediate -s stop; done; mountpoint -q "$T/ext4" && umount "$T/ext4"; PGD_HOME=$T/home-xfs "$PGD" setup --detach >/dev/null 2>&1; mountpoint -q "$T/home-xfs/pool" && umount "$T/home-xfs/pool"'
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"
cd "$T"

# Per target: its pgd home and password file (each pool has a project of its own).
home_of() { [ "$1" = xfs ] && echo "$T/home-xfs" || echo "$T/home"; }
on() {  # TARGET CMD...: CMD with the target's pgd home and password file
  local target=$1; shift
  PGD_HOME=$(home_of "$target") PGPASSFILE=$T/pgpass-$target "$@"
}
sqlp() { on "$1" "$PGBIN/psql" -h 127.0.0.1 -p "$2" -U postgres -d postgres -XtAq -v ON_ERROR_STOP=1 -c "$3"; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }

machine
echo "# loading pgbench scale $SCALE into three pools ..." >&2
bench_project "$SIZE" fr  # btrfs, $T/home
mv "$PGPASSFILE" "$T/pgpass-btrfs"
on xfs "$PGD" setup --pool-file "$T/pool-xfs.img" --size "$SIZE" --fs xfs >/dev/null
on xfs "$PGD" project create fr >/dev/null
(umask 077; echo "127.0.0.1:*:*:postgres:$(on xfs "$PGD" branch password fr/main)" >"$T/pgpass-xfs")
for target in btrfs xfs; do
  port=$(on "$target" "$PGD" branch get fr/main --json | jq -r .port)
  on "$target" "$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
  sqlp "$target" "$port" "CHECKPOINT"
done

# ext4: a plain PostgreSQL with a pgd branch's settings (pgd.conf, archiving
# included), loaded the same way; each job runs on a copy of it.
truncate -s "$SIZE" "$T/ext4.img"
mkfs.ext4 -q -F "$T/ext4.img"
mkdir -p "$T/ext4"
mount -o loop,noatime "$T/ext4.img" "$T/ext4"
losetup --direct-io=on "$(findmnt -n -o SOURCE "$T/ext4")"
mkdir -p "$T/ext4/template" "$T/ext4/wal" "$T/ext4/run"
chown pgd "$T/ext4/template" "$T/ext4/wal" "$T/ext4/run"
chmod 700 "$T/ext4/template"
runuser -u pgd -- "$PGBIN/initdb" -D "$T/ext4/template" -U postgres --auth=trust --data-checksums -N >/dev/null
cp -a "$PGD_HOME/tls/fr" "$T/tls"
sed -e "s|^port = .*|port = $EXT_PORT|" \
    -e "s|^unix_socket_directories = .*|unix_socket_directories = '$T/ext4/run'|" \
    -e "s|^archive_command = '\(.*\) %p %f .*'|archive_command = '$PGD_HOME/bin/pgd-archive-wal %p %f $T/ext4/wal'|" \
    -e "s|$PGD_HOME/tls/fr|$T/tls|g" \
    "$MNT/fr/main/pgd.conf" >"$T/ext4/template/pgd.conf"
echo "include 'pgd.conf'" >>"$T/ext4/template/postgresql.conf"
chown pgd "$T/ext4/template/pgd.conf"
(umask 077; echo "127.0.0.1:$EXT_PORT:*:postgres:unused" >"$T/pgpass-ext4")  # trust: no password asked
ext_ctl() { runuser -u pgd -- "$PGBIN/pg_ctl" -D "$1" -w -s -l "$T/ext4/run/server.log" "${@:2}"; }
ext_ctl "$T/ext4/template" start
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$EXT_PORT" -U postgres postgres >/dev/null 2>&1
ext_ctl "$T/ext4/template" -m fast stop

# A fresh target to run a job on. ext4's copy is made and started beforehand,
# untimed: the floor is a database that is simply there. A pgd branch is made
# inside the timing (create prints its port).
ext_rm() { rm -rf "$T/ext4/job" "$T/ext4/wal"/*; }
prepare_target() {  # TARGET
  [ "$1" = ext4 ] || return 0
  ext_rm
  cp -a "$T/ext4/template" "$T/ext4/job"
  ext_ctl "$T/ext4/job" start
}
create_target() {  # TARGET NAME: prints the port
  if [ "$1" = ext4 ]; then echo "$EXT_PORT"; return; fi
  on "$1" "$PGD" branch create "fr/$2" --json | jq -r .port
}
delete_target() {  # TARGET NAME
  [ "$1" = ext4 ] || on "$1" "$PGD" branch delete "fr/$2" >/dev/null
}
finish_target() {  # TARGET
  [ "$1" = ext4 ] || return 0
  ext_ctl "$T/ext4/job" -m fast stop
  ext_rm
}
# The loop device under a target, and its counters: sectors written and flush
# requests completed (/proc/diskstats fields 10 and 19). A commit's cost is
# mostly its fsync, and these say what each filesystem turns one into.
loop_of() {  # TARGET
  case $1 in
    btrfs) findmnt -n -o SOURCE "$T/home/pool" ;;
    xfs) findmnt -n -o SOURCE "$T/home-xfs/pool" ;;
    ext4) findmnt -n -o SOURCE "$T/ext4" ;;
  esac | xargs basename
}
disk_counters() { awk -v d="$1" '$3 == d {print $10, $19}' /proc/diskstats; }
pgbench_tps() {  # TARGET PORT SECONDS [-P 10]: TPS, and with -P the 10-s windows on stderr
  on "$1" "$PGBIN/pgbench" -n -c 4 -j 2 -T "$3" "${@:4}" -h 127.0.0.1 -p "$2" -U postgres postgres 2>"$T/progress.txt" |
    awk '/^tps/ {printf "%d\n", $3}'
}
MIGRATION="ALTER TABLE pgbench_accounts ADD COLUMN note int DEFAULT 0;
CREATE INDEX accounts_bid_abalance ON pgbench_accounts (bid, abalance);
UPDATE pgbench_accounts SET note = abalance + 1 WHERE aid % 10 = 0;"

: >"$T/fresh.txt"; : >"$T/ci.txt"
targets=(btrfs xfs ext4)
for r in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2; do
    target=${targets[$(( (r + k) % 3 ))]}
    # fresh: a new branch's tpcb-like TPS in its first 35 s (5 s warm-up)
    prepare_target "$target"
    cold
    port=$(create_target "$target" "f$r")
    pgbench_tps "$target" "$port" 5 >/dev/null
    dev=$(loop_of "$target")
    read -r sec0 fl0 < <(disk_counters "$dev")
    tps=$(pgbench_tps "$target" "$port" 30)
    read -r sec1 fl1 < <(disk_counters "$dev")
    txns=$(( tps * 30 > 0 ? tps * 30 : 1 ))
    delete_target "$target" "f$r"
    finish_target "$target"
    # KiB written and flushes (per 100 transactions) to the pool's device
    echo "$target $tps $(( (sec1 - sec0) / 2 / txns )) $(( (fl1 - fl0) * 100 / txns ))" >>"$T/fresh.txt"
    # ci: create, migrate, 60 s of tests, delete, timed whole
    prepare_target "$target"
    cold
    t0=$(now_ms)
    port=$(create_target "$target" "c$r")
    t1=$(now_ms)
    on "$target" "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XtAq -v ON_ERROR_STOP=1 \
      -c "$MIGRATION" >/dev/null
    t2=$(now_ms)
    tps=$(pgbench_tps "$target" "$port" 60 -P 10)
    windows=$(awk '/^progress:/ {printf "%s%d", sep, $4; sep="/"}' "$T/progress.txt")
    t3=$(now_ms)
    delete_target "$target" "c$r"
    t4=$(now_ms)
    finish_target "$target"
    echo "$target $((t4 - t0)) $((t1 - t0)) $((t2 - t1)) $tps $((t4 - t3)) $windows" >>"$T/ci.txt"
    echo "round $r $target: fresh $(tail -n1 "$T/fresh.txt" | cut -d' ' -f2) TPS; ci $(tail -n1 "$T/ci.txt")" >&2
  done
done

med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { sort -n | awk '{a[NR]=$1} END {printf "%d-%d", a[1], a[NR]}'; }
field() { awk -v t="$1" -v f="$2" '$1 == t {print $f}' "$3"; }
report() {
  machine
  echo "# pgbench scale $SCALE, -c4 -j2, $ROUNDS rounds, targets interleaved, each job from a cold page cache"
  printf "%-8s %12s %12s %8s %12s %10s %10s %10s %12s\n" target "fresh TPS" "(range)" "% ext4" \
    "ci job ms" "create" "migrate" "tests TPS" "% of ext4"
  local e_fresh e_ci
  e_fresh=$(field ext4 2 "$T/fresh.txt" | med) e_ci=$(field ext4 2 "$T/ci.txt" | med)
  for t in btrfs xfs ext4; do
    local f c
    f=$(field "$t" 2 "$T/fresh.txt" | med) c=$(field "$t" 2 "$T/ci.txt" | med)
    printf "%-8s %12d %12s %7d%% %12d %10d %10d %10d %11d%%\n" "$t" "$f" "$(field "$t" 2 "$T/fresh.txt" | spread)" \
      $(( f * 100 / (e_fresh > 0 ? e_fresh : 1) )) "$c" "$(field "$t" 3 "$T/ci.txt" | med)" \
      "$(field "$t" 4 "$T/ci.txt" | med)" "$(field "$t" 5 "$T/ci.txt" | med)" $(( c * 100 / (e_ci > 0 ? e_ci : 1) ))
  done
  echo "the fresh run's device I/O per transaction (median): KiB written, flushes x100"
  for t in btrfs xfs ext4; do
    printf "  %-6s %6d KiB %6d\n" "$t" "$(field "$t" 3 "$T/fresh.txt" | med)" "$(field "$t" 4 "$T/fresh.txt" | med)"
  done
  echo "ci job TPS per 10 s window, round by round:"
  awk '{printf "  %-6s %s\n", $1, $7}' "$T/ci.txt"
}
echo
report | tee "$T/table.txt"
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## A fresh branch's first minutes (bench/fresh.sh)"; echo; echo '```'; cat "$T/table.txt"; echo '```'; echo; } >>"$BENCH_REPORT"
fi
if [ -n "${BENCH_JSON:-}" ]; then
  for t in btrfs xfs ext4; do
    json_obj target "$t" fresh_tps "$(field "$t" 2 "$T/fresh.txt" | med)" \
      fresh_kib_per_txn "$(field "$t" 3 "$T/fresh.txt" | med)" \
      fresh_flushes_per_100_txn "$(field "$t" 4 "$T/fresh.txt" | med)" \
      ci_ms "$(field "$t" 2 "$T/ci.txt" | med)" ci_tests_tps "$(field "$t" 5 "$T/ci.txt" | med)"
  done | bench_json "$BENCH_JSON" '{date: $date, scale: $scale, rounds: $rounds, targets: .}' \
    --arg date "$(date -u +%FT%TZ)" --argjson scale "$SCALE" --argjson rounds "$ROUNDS"
fi
