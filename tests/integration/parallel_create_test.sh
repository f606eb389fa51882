#!/usr/bin/env bash
# Many creates of one project at once (issue 25). While a writer commits
# numbered rows throughout: 8, then 32 concurrent creates all succeed, each
# branch holds every row acknowledged before its command started, ports are
# distinct and doctor is healthy; creates with a delete and a reset of other
# branches interleaved serialize with them; creates killed with -9 while they
# start their servers (outside the project lock) leave nothing doctor --fix
# cannot repair, and the others complete.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create fleet >/dev/null
sql fleet/main "CREATE TABLE w (id int PRIMARY KEY)"
main_port=$(port_of fleet/main)
password=$(pgd branch password fleet/main)

# The writer: one row per transaction, each acknowledged row's id appended to
# $T/acked once the server has confirmed its commit.
: >"$T/acked"
(
  i=0
  while [ ! -e "$T/stop-writer" ]; do
    i=$((i + 1))
    PGPASSWORD=$password psql -h 127.0.0.1 -p "$main_port" -U postgres -d postgres -XtAq \
      -c "INSERT INTO w VALUES ($i)" >/dev/null 2>&1 && echo "$i"
  done
) >>"$T/acked" &
writer=$!
stop_writer() { touch "$T/stop-writer"; wait "$writer" 2>/dev/null || true; }
CLEANUP_HOOKS+=(stop_writer)
last_acked() { tail -n 1 "$T/acked" | grep -E '^[0-9]+$' || echo 0; }
wait_for_rows() {  # N: until the writer has N rows acknowledged
  for _ in $(seq 1 200); do [ "$(last_acked)" -ge "$1" ] && return 0; sleep 0.05; done
  fail "the writer acknowledged only $(last_acked) rows"
}
wait_for_rows 5

# N PREFIX [env...]: N creates of fleet/PREFIX1..N at once, each after noting
# the last row acknowledged before it started. Outputs in $T/PREFIXi.*.
launch_creates() {
  local n=$1 prefix=$2 i
  shift 2
  LAUNCHED=()
  for i in $(seq 1 "$n"); do
    last_acked >"$T/$prefix$i.before"
    env "$@" "$PGD" branch create "fleet/$prefix$i" --json >"$T/$prefix$i.json" 2>"$T/$prefix$i.err" &
    LAUNCHED+=($!)
  done
}
wait_creates() {  # PREFIX: every launched create succeeded
  local i
  for i in "${!LAUNCHED[@]}"; do
    wait "${LAUNCHED[$i]}" || fail "create $1$((i + 1)) failed: $(cat "$T/$1$((i + 1)).err")"
  done
}
# N PREFIX: each branch holds every row acknowledged before its create started.
check_rows() {
  local i before want
  for i in $(seq 1 "$1"); do
    before=$(cat "$T/$2$i.before")
    want=$(sql fleet/main "SELECT count(*) FROM w WHERE id <= $before")
    assert_eq "$want" "$before" "main holds rows 1..$before"
    assert_eq "$(sql "fleet/$2$i" "SELECT count(*) FROM w WHERE id <= $before")" "$want" \
      "fleet/$2$i holds the $before rows acknowledged before its create started"
  done
}
ports_unique() {
  assert_eq "$(pgd branch list --json | jq '[.[].port] | unique | length')" \
    "$(pgd branch list --json | jq length)" "every branch on a port of its own"
}

# --- 8, then 32 at once --------------------------------------------------------
for n in 8 32; do
  prefix=p${n}-
  launch_creates "$n" "$prefix"
  wait_creates "$prefix"
  check_rows "$n" "$prefix"
  ports_unique
  expect_exit 0 pgd doctor
  pass "$n concurrent creates: all made, each with every row acknowledged before it started"
done
deletes=()
for i in $(seq 1 32); do "$PGD" branch delete "fleet/p32-$i" >/dev/null & deletes+=($!); done
for pid in "${deletes[@]}"; do wait "$pid" || fail "deleting the 32 branches at once"; done

# --- with a delete and a reset of other branches interleaved ------------------
pgd branch create fleet/old >/dev/null
pgd branch create fleet/again >/dev/null
sql fleet/again "INSERT INTO w VALUES (-1)"
launch_creates 4 mix-a
"$PGD" branch delete fleet/old >"$T/delete.out" 2>&1 &
deleter=$!
"$PGD" branch reset fleet/again >"$T/reset.out" 2>&1 &
resetter=$!
mixed=("${LAUNCHED[@]}")
launch_creates 4 mix-b
wait "$deleter" || fail "the interleaved delete: $(cat "$T/delete.out")"
wait "$resetter" || fail "the interleaved reset: $(cat "$T/reset.out")"
wait_creates mix-b
LAUNCHED=("${mixed[@]}")
wait_creates mix-a
check_rows 4 mix-a
check_rows 4 mix-b
expect_exit 1 pgd branch get fleet/old
assert_eq "$(sql fleet/again "SELECT count(*) FROM w WHERE id = -1")" "0" "the reset took main's data"
ports_unique
recorded=$(pgd branch list --json | jq -r '.[].data_dir' | sort)
assert_eq "$(pool_postmasters)" "$recorded" "one postmaster per branch"
expect_exit 0 pgd doctor
pass "creates with a delete and a reset of other branches interleaved: all done, state consistent"

# --- kill -9 of some creates while they start their servers ---------------------
# PGD_FAULT kills a create right after its step "started": its server runs,
# the project's lock is already released, its intent is still open.
launch_creates 3 killed PGD_FAULT=branch.create:started
killed=("${LAUNCHED[@]}")
launch_creates 5 alive
wait_creates alive
for pid in "${killed[@]}"; do
  rc=0
  wait "$pid" || rc=$?
  assert_eq "$rc" "137" "a create killed by SIGKILL"
done
check_rows 5 alive
expect_exit 1 pgd doctor
assert_contains "$OUT" "branch.create fleet/killed" "doctor sees the interrupted creates"
expect_exit 0 pgd doctor --fix
expect_exit 0 pgd doctor
for i in 1 2 3; do expect_exit 1 pgd branch get "fleet/killed$i"; done
recorded=$(pgd branch list --json | jq -r '.[].data_dir' | sort)
assert_eq "$(pool_postmasters)" "$recorded" "no postmaster of a killed create is left"
assert_eq "$(pool_volumes | grep -v '@')" "$recorded" "subvolumes = records"
stop_writer
pass "creates killed with -9 mid-start: doctor --fix removes them; the others complete"
