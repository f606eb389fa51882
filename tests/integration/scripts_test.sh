#!/usr/bin/env bash
# The set-up scripts' root guard (scripts/as_root.sh): as root they run with or
# without sudo; as another user they run themselves through sudo where there is
# one, and stop with what to do where there is none.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# A stand-in for demo.sh/test.sh: the guard, then proof that it ran.
mkdir -p "$T/bin" "$T/nosudo"
cp "$ROOT/scripts/as_root.sh" "$T/"
cat >"$T/probe.sh" <<'PROBE'
set -euo pipefail
source "$(dirname "$0")/as_root.sh"
echo "ran as uid $(id -u) with: $*"
PROBE
chmod -R a+rX "$T"
# Only the tools the guard needs, and no sudo.
for tool in bash id basename dirname; do ln -s "$(command -v $tool)" "$T/nosudo/$tool"; done
# A sudo that says how it was called instead of changing users.
cat >"$T/bin/sudo" <<'SUDO'
#!/bin/bash
echo "sudo called with: $*"
SUDO
chmod 755 "$T/bin/sudo"
for tool in bash id basename dirname; do ln -s "$(command -v $tool)" "$T/bin/$tool"; done

out=$(env PATH="$T/nosudo" bash "$T/probe.sh" one two)
assert_eq "$out" "ran as uid 0 with: one two" "root without sudo on the PATH"
pass "as root the scripts run where there is no sudo"

expect_exit 1 runuser -u nobody -- env PATH="$T/nosudo" bash "$T/probe.sh"
assert_contains "$ERR" "probe.sh needs root" "a user without sudo"
assert_contains "$ERR" "run it as root" "a user without sudo is told what to do"
[ -z "$OUT" ] || fail "the script ran without root: $OUT"
pass "a user without sudo is told to run it as root, and nothing runs"

out=$(runuser -u nobody -- env PATH="$T/bin" bash "$T/probe.sh" one)
assert_contains "$out" "sudo called with: --preserve-env=PGD_POOL_FILE,DEMO_SCALE bash $T/probe.sh one" \
  "a user with sudo"
pass "a user with sudo runs the script again through sudo"
