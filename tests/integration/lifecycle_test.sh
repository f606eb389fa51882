#!/usr/bin/env bash
# stop/start/restart keep data; a killed server is reported and restarted by
# 'start --all'; the pool survives detach and re-attach (as after a reboot).
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create life >/dev/null
sql life/main "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)"
pgd branch create life/dev >/dev/null
sql life/dev "INSERT INTO t VALUES (101)"

pgd stop life/dev >/dev/null
assert_eq "$(pgd branch get life/dev --json | jq -r .status)" "stopped" "status after stop"
expect_exit 0 pgd stop life/dev
pgd start life/dev >/dev/null
assert_eq "$(sql life/dev "SELECT count(*) FROM t")" "101" "data after stop/start"
pgd restart life/dev >/dev/null
assert_eq "$(sql life/dev "SELECT count(*) FROM t")" "101" "data after restart"
pass "stop, start and restart keep data"

# Kill a postmaster as a crash would: doctor says so, start --all fixes it.
pid=$(head -n1 "$MNT/life/dev/postmaster.pid")
kill -9 "$pid"
for _ in $(seq 1 100); do process_gone "$pid" && break; sleep 0.05; done
sleep 0.5  # let its children notice and exit
expect_exit 1 pgd doctor
assert_contains "$OUT" "should be running on port" "doctor reports the dead branch"
assert_contains "$OUT" "fix: start it (pgd start life/dev)" "doctor names the fix"
pgd start --all >/dev/null
assert_eq "$(sql life/dev "SELECT count(*) FROM t")" "101" "data after crash and start --all"
expect_exit 0 pgd doctor
pass "a killed branch is reported by doctor and restarted by start --all"

# A deliberately stopped branch stays stopped across start --all.
pgd stop life/main >/dev/null
pgd start --all >/dev/null
assert_eq "$(pgd branch get life/main --json | jq -r .status)" "stopped" "stopped branch stays stopped"
pgd start life/main >/dev/null
pass "start --all restores only branches that should run"

# Reboot: detach stops everything and unmounts; setup re-attaches; start --all restarts.
pgd setup --detach >/dev/null
mountpoint -q "$MNT" && fail "pool still mounted after --detach"
losetup -j "$T/pool.img" | grep -q . && fail "loop device still attached after --detach"
expect_exit 1 pgd branch list
assert_contains "$ERR" "is not mounted" "commands say the pool is detached"
pgd setup >/dev/null
pgd setup >/dev/null  # idempotent
mountpoint -q "$MNT" || fail "setup did not re-attach the pool"
assert_eq "$(losetup -j "$T/pool.img" | wc -l)" "1" "exactly one loop device after repeated setup"
pgd start --all >/dev/null
assert_eq "$(sql life/main "SELECT count(*) FROM t")" "100" "main data after re-attach"
assert_eq "$(sql life/dev "SELECT count(*) FROM t")" "101" "branch data after re-attach"
assert_eq "$(pgd status --json | jq '[.projects[].branches[] | select(.status == "running")] | length')" \
  "2" "every branch running again"
pass "detach, re-attach and start --all"

# A power cut: every Postgres process killed with -9, then the pool unmounted
# behind pgd's back, as a reboot leaves things.
victims=""
for f in "$MNT"/*/*/postmaster.pid; do
  pm=$(head -n1 "$f")
  victims="$victims $pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
done
for pid in $victims; do kill -9 "$pid" 2>/dev/null || true; done
for pid in $victims; do
  for _ in $(seq 1 100); do process_gone "$pid" && break; sleep 0.05; done
done
sleep 0.5
umount "$MNT"
expect_exit 1 pgd start --all
assert_contains "$ERR" "is not mounted" "start --all says the pool needs re-attaching"
pgd setup >/dev/null
pgd start --all >/dev/null
assert_eq "$(sql life/main "SELECT count(*) FROM t")" "100" "main after the power cut"
assert_eq "$(sql life/dev "SELECT count(*) FROM t")" "101" "branch after the power cut"
expect_exit 0 pgd doctor
pass "after a power cut: setup re-attaches, start --all brings every branch back with its data"
