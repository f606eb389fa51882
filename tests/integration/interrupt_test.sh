#!/usr/bin/env bash
# Ctrl-C (SIGINT), SIGTERM and SIGHUP at many moments of branch create, reset,
# snapshot create and a PITR's replay: pgd exits 128 + the signal (or 0 when it
# had finished), doctor stays healthy, and volumes, postmasters and records
# agree — nothing is left for `doctor --fix`.
source "$(dirname "$0")/lib.sh"
setup_pool 4G

pgd project create it >/dev/null
sql it/main "CREATE TABLE t AS SELECT 1 AS v"

# The pool as pgd's records see it and as it is: volumes, and servers on them.
agree() {
  local what=$1 records volumes servers
  expect_exit 0 "$PGD" doctor
  records=$(pgd branch list it --json | jq -r '.[] | .data_dir' | sort)
  volumes=$(pool_volumes | grep -v '@' || true)
  [ "$records" = "$volumes" ] || fail "$what: records and volumes differ: [$records] vs [$volumes]"
  servers=$(pool_postmasters)
  [ "$servers" = "$(pgd branch list it --json | jq -r '.[] | select(.status == "running") | .data_dir' | sort)" ] ||
    fail "$what: running servers and records differ: $servers"
}

# interrupt SIGNAL SECONDS pgd-args...: runs pgd, sends SIGNAL after SECONDS;
# leaves the exit code in $RC and requires it to be 0 or 128 + SIGNAL.
interrupt() {
  local sig=$1 after=$2; shift 2
  set +e
  timeout --preserve-status -s "$sig" "$after" "$PGD" "$@" >/dev/null 2>"$T/stderr"
  RC=$?
  set -e
  local want=$((128 + $(kill -l "$sig")))
  [ "$RC" -eq 0 ] || [ "$RC" -eq "$want" ] ||
    fail "'pgd $*' with $sig after $after s exited $RC, expected 0 or $want: $(cat "$T/stderr")"
  # (A signal in pgd's first milliseconds, before its handlers exist, ends it
  # silently with the same code: then it had made nothing.)
}

stopped=0 total=0
for sig in INT TERM HUP; do
  for after in 0.005 0.02 0.04 0.06 0.08; do
    name=c${sig,,}${after#0.}
    interrupt "$sig" "$after" branch create "it/$name"
    total=$((total + 1))
    if [ "$RC" -eq 0 ]; then
      assert_eq "$(sql "it/$name" "SELECT v FROM t")" "1" "a branch created before $sig came"
      pgd branch delete "it/$name" >/dev/null
    else
      stopped=$((stopped + 1))
      pgd branch get "it/$name" >/dev/null 2>&1 && fail "$sig after $after s left the record of it/$name"
      [ -e "$MNT/it/$name" ] && fail "$sig after $after s left $MNT/it/$name"
    fi
    agree "branch create, $sig after $after s"
  done
done
[ "$stopped" -ge 5 ] || fail "only $stopped of $total creates were interrupted: the signals came too late to prove anything"
pass "branch create: $stopped of $total interrupted (INT, TERM, HUP), each undone; doctor healthy"

pgd branch create it/dev >/dev/null
sql it/dev "CREATE TABLE mine AS SELECT 7 AS v"
resets=0
for after in 0.005 0.02 0.04 0.06 0.08 0.1; do
  interrupt INT "$after" branch reset it/dev
  [ "$RC" -eq 0 ] || resets=$((resets + 1))
  assert_eq "$(pgd branch get it/dev --json | jq -r .status)" "running" "dev after a reset stopped at $after s"
  assert_eq "$(sql it/dev "SELECT v FROM t")" "1" "dev's data after a reset stopped at $after s"
  agree "branch reset, INT after $after s"
  sql it/dev "CREATE TABLE IF NOT EXISTS mine AS SELECT 7 AS v" 2>/dev/null
done
[ "$resets" -ge 2 ] || fail "only $resets resets were interrupted"
pass "branch reset: $resets interrupted; the branch runs with its own or its parent's data, never half"

snaps=0
for after in 0.005 0.01 0.02 0.04; do
  interrupt INT "$after" snapshot create it/main --label "s${after#0.}"
  [ "$RC" -eq 0 ] || snaps=$((snaps + 1))
  [ "$RC" -eq 0 ] || [ -z "$(pgd snapshot list it/main --json | jq -r ".[] | select(.label == \"s${after#0.}\") | .id")" ] ||
    fail "an interrupted snapshot left its record"
  recorded=$(pgd snapshot list --json | jq -r '.[] | .id' | sort)
  on_disk=$(pool_volumes | grep '@' | sed 's/.*@//' | sort || true)
  [ "$recorded" = "$on_disk" ] || fail "snapshot records and volumes differ: [$recorded] vs [$on_disk]"
  agree "snapshot create, INT after $after s"
done
[ "$snaps" -ge 1 ] || fail "no snapshot create was interrupted"
pass "snapshot create: $snaps interrupted, none left half made"

# A PITR replaying a lot of WAL stops promptly.
pgd snapshot create it/main --label base >/dev/null
sql it/main "CREATE TABLE big (i int, pad text)"
for _ in 1 2 3; do sql it/main "INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 400000) g"; done
t0=$(date +%s%N)
interrupt INT 1.5 branch create it/undo --pitr "0 seconds ago"
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq "$RC" "130" "a PITR interrupted during its replay"
pgd branch get it/undo >/dev/null 2>&1 && fail "the interrupted PITR left its branch"
[ -e "$MNT/it/undo" ] && fail "the interrupted PITR left its volume"
[ "$took_ms" -lt 6000 ] || fail "the PITR took $took_ms ms to stop after SIGINT at 1.5 s"
agree "PITR, INT during replay"
pass "a PITR stops during its replay (exit 130 after $took_ms ms, SIGINT at 1.5 s) and leaves nothing"
