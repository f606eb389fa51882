#!/usr/bin/env bash
# Kill pgd (SIGKILL, via the PGD_FAULT hook) right after every step of every
# multi-step operation; then `pgd doctor` must report the damage, `pgd doctor
# --fix` must repair it, and subvolumes, processes and records must agree.
source "$(dirname "$0")/lib.sh"
setup_pool 4G

pgd project create base >/dev/null
sql base/main "CREATE TABLE t (id int); INSERT INTO t VALUES (1)"
pgd snapshot create base/main --label snap >/dev/null

# Records and reality agree: every subvolume is a recorded branch or snapshot,
# every recorded branch's subvolume exists, every postmaster serves a recorded
# branch that should run, every branch that should run does, no intent is open.
check_consistent() {
  local what=$1 recorded on_disk
  recorded=$( (pgd branch list --json | jq -r '.[] | .data_dir';
               pgd snapshot list --json | jq -r ".[] | \"$MNT/\" + (.branch) + \"@\" + .id") | sort)
  on_disk=$(pool_volumes)
  assert_eq "$on_disk" "$recorded" "$what: subvolumes = records"
  local statuses
  statuses=$(pgd branch list --json | jq -r '.[] | .status' | sort -u | tr '\n' ' ')
  [[ "$statuses" =~ ^(running |stopped )+$ ]] || fail "$what: branch statuses are '$statuses'"
  local running_dirs postmasters
  running_dirs=$(pgd branch list --json | jq -r '.[] | select(.status == "running") | .data_dir' | sort)
  postmasters=$(pool_postmasters)
  assert_eq "$postmasters" "$running_dirs" "$what: postmasters = running branches"
  local json
  json=$(pgd doctor --json || true)
  assert_eq "$(jq '.findings | length' <<<"$json")" "0" "$what: doctor finds nothing"
  assert_eq "$(jq -r .healthy <<<"$json")" "true" "$what: healthy"
  assert_eq "$(sql base/main "SELECT count(*) FROM t")" "1" "$what: base data intact"
}

# crash OP STEP COMMAND...: runs COMMAND with pgd killing itself after STEP.
crash() {
  local op=$1 step=$2; shift 2
  set +e
  PGD_FAULT="$op:$step" "$PGD" "$@" >/dev/null 2>&1
  local rc=$?
  set -e
  [ "$rc" -eq 137 ] || fail "$op:$step: expected pgd to be killed (137), got exit $rc"
  expect_exit 1 pgd doctor
  assert_contains "$OUT" "was interrupted at step '$step'" "$op:$step: doctor reports the interruption"
  expect_exit_verbose 0 pgd doctor --fix
  check_consistent "$op:$step"
}

expect_exit_verbose() { local want=$1; shift; set +e; "$@" >"$T/stdout" 2>"$T/stderr"; local got=$?; set -e; OUT=$(cat "$T/stdout"); [ "$got" -eq "$want" ] || { echo "$OUT"; fail "$* exited $got"; }; }

gone() { pgd branch get "$1" >/dev/null 2>&1 && fail "$2: $1 should not exist"; true; }
exists() { pgd branch get "$1" >/dev/null 2>&1 || fail "$2: $1 should exist"; }

for step in begun recorded volume-created initialized started; do
  crash project.create "$step" project create doomed
  pgd project get doomed >/dev/null 2>&1 && fail "project.create:$step was not rolled back"
done
pass "project create: interrupted at every step, rolled back"

for step in begun reserved checkpointed cloned configured started; do
  crash branch.create "$step" branch create base/doomed
  gone base/doomed "branch.create:$step"
done
pass "branch create: interrupted at every step, rolled back"

for step in begun reserved cloned configured recovered; do
  crash branch.pitr "$step" branch create base/recovered --pitr "0 seconds ago"
  gone base/recovered "branch.pitr:$step"
done
pass "PITR: interrupted at every step, rolled back"

for step in begun checkpointed cloned; do
  crash snapshot.create "$step" snapshot create base/main --label doomed
  pgd snapshot list --json | jq -e 'map(select(.label == "doomed")) | length == 0' >/dev/null \
    || fail "snapshot.create:$step was not rolled back"
done
pass "snapshot create: interrupted at every step, rolled back"

for step in begun volume-destroyed; do
  pgd snapshot create base/main --label victim >/dev/null
  crash snapshot.delete "$step" snapshot delete victim
  if [ "$step" == volume-destroyed ]; then
    pgd snapshot list --json | jq -e 'map(select(.label == "victim")) | length == 0' >/dev/null \
      || fail "snapshot.delete:$step was not finished"
  else
    pgd snapshot delete victim >/dev/null
  fi
done
pass "snapshot delete: interrupted, finished or left whole"

for step in begun stopped snapshots-deleted volume-destroyed; do
  pgd branch create base/victim >/dev/null
  pgd branch create base/victim-child --from base/victim >/dev/null
  crash branch.delete "$step" branch delete base/victim --force
  gone base/victim "branch.delete:$step"
  gone base/victim-child "branch.delete:$step"
done
pass "branch delete: interrupted at every step, rolled forward"

pgd branch create base/r >/dev/null
for step in begun cloned stopped swapped configured started; do
  sql base/r "INSERT INTO t VALUES (2)"
  crash branch.reset "$step" branch reset base/r
  count=$(sql base/r "SELECT count(*) FROM t")
  case $step in
    swapped|configured|started) assert_eq "$count" "1" "branch.reset:$step rolled forward to the parent's data" ;;
    *) assert_eq "$count" "2" "branch.reset:$step rolled back to the branch's own data" ;;
  esac
  sql base/r "DELETE FROM t WHERE id = 2"
done
pass "branch reset: interrupted at every step, rolled back before the swap and forward after"

for step in begun stopped snapshots-deleted volume-destroyed branches-deleted; do
  pgd project create victim >/dev/null
  pgd branch create victim/dev >/dev/null
  pgd snapshot create victim/dev >/dev/null
  crash project.delete "$step" project delete victim --force
  pgd project get victim >/dev/null 2>&1 && fail "project.delete:$step was not rolled forward"
  [ -e "$MNT/victim" ] && fail "project.delete:$step left its directory"
  [ -e "$PGD_HOME/secrets/victim.password" ] && fail "project.delete:$step left its secret"
done
pass "project delete: interrupted at every step, rolled forward"
