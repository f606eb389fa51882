#!/usr/bin/env bash
# Packaging: 'make install PREFIX=...' installs pgd, its man page and bash
# completion; the CPack Debian package installs on this machine, and the
# installed pgd runs --version and doctor against a real pool; removing the
# package leaves nothing behind.
source "$(dirname "$0")/lib.sh"
ROOT=$(realpath "$(dirname "$0")/../..")
BUILD=$(dirname "$PGD")
command -v cpack >/dev/null || skip "cpack not installed"
if dpkg-query -W -f='${Status}' pgd 2>/dev/null | grep -q "install ok installed"; then
  skip "a pgd package is already installed on this machine; not replacing it"
fi
version=$("$PGD" --version)

make -s -C "$ROOT" install PREFIX="$T/prefix" BUILD_DIR="$BUILD" >/dev/null
assert_eq "$("$T/prefix/bin/pgd" --version)" "$version" "installed binary"
[ -s "$T/prefix/share/man/man1/pgd.1" ] || fail "make install: no man page"
[ -s "$T/prefix/share/bash-completion/completions/pgd" ] || fail "make install: no bash completion"
assert_eq "$(grep -m1 '^ExecStart=' "$T/prefix/lib/systemd/system/pgd.service")" \
  "ExecStart=$T/prefix/bin/pgd setup" "make install's boot unit names the installed pgd"
assert_eq "$(grep -m1 '^ExecStart=' "$T/prefix/lib/systemd/system/pgd-snapshots.service")" \
  "ExecStart=$T/prefix/bin/pgd snapshot auto --max-replay 1G" "make install's snapshot unit"
[ -s "$T/prefix/lib/systemd/system/pgd-snapshots.timer" ] || fail "make install: no snapshot timer"
assert_eq "$(grep -m1 '^ExecStart=' "$T/prefix/lib/systemd/system/pgd-serve.service")" \
  "ExecStart=$T/prefix/bin/pgd serve" "make install's serve unit"
pass "make install PREFIX=... installs pgd, pgd(1), the bash completion and the boot unit"

(cd "$BUILD" && cpack -G DEB -B "$T/pkg" >/dev/null)
deb=$(ls "$T"/pkg/pgd_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
assert_contains "$depends" "postgresql" "package depends on postgresql"
assert_contains "$depends" "btrfs-progs" "package depends on btrfs-progs"
assert_contains "$depends" "xfsprogs" "package depends on xfsprogs"
CLEANUP_HOOKS+=("dpkg -r pgd >/dev/null 2>&1")
dpkg -i "$deb" >/dev/null
assert_eq "$(/usr/bin/pgd --version)" "$version" "packaged pgd --version"
[ -e /usr/share/man/man1/pgd.1 ] || fail "package: no man page"
[ -e /usr/share/bash-completion/completions/pgd ] || fail "package: no bash completion"
pass "the Debian package installs pgd, pgd(1) and the completion"

unit=/usr/lib/systemd/system/pgd.service
[ -f "$unit" ] || fail "package: no boot unit $unit"
assert_eq "$(grep '^ExecStart=' "$unit" | tr '\n' ';')" \
  "ExecStart=/usr/bin/pgd setup;ExecStart=/usr/bin/pgd start --all;" "the boot unit's commands"
grep -q '^WantedBy=multi-user.target' "$unit" || fail "the boot unit is not wanted at boot"
postinst=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst)
assert_contains "$postinst" "systemctl enable pgd.service" "the package enables its unit"
snap_unit=/usr/lib/systemd/system/pgd-snapshots.service
assert_eq "$(grep '^ExecStart=' "$snap_unit" || true)" "ExecStart=/usr/bin/pgd snapshot auto --max-replay 1G" \
  "the snapshot unit's command"
grep -q '^OnUnitActiveSec=5min' /usr/lib/systemd/system/pgd-snapshots.timer || fail "no 5-minute snapshot timer"
assert_contains "$postinst" "pgd-snapshots.timer" "the package enables the snapshot timer"
serve_unit=/usr/lib/systemd/system/pgd-serve.service
assert_eq "$(grep '^ExecStart=' "$serve_unit" || true)" "ExecStart=/usr/bin/pgd serve" "the serve unit's command"
grep -q '^Restart=always' "$serve_unit" || fail "pgd serve is not restarted when it dies"
assert_contains "$postinst" "pgd-serve.service" "the package enables pgd serve"
pass "the package ships a boot unit, pgd serve and a snapshot timer, and enables them where systemd runs"

setup_pool
pgd project create pkg >/dev/null
expect_exit 0 /usr/bin/pgd doctor --json
assert_eq "$(echo "$OUT" | jq -r .healthy)" "true" "packaged pgd doctor"
assert_eq "$(echo "$OUT" | jq -r '.checks[] | select(.name == "Start at boot") | .ok')" "true" "boot check"
pass "the packaged pgd's doctor finds a healthy pool and project"

# A reboot, simulated: every server stopped and the pool detached, then the
# unit's commands, run by hand (no systemd here), bring back what was running.
pgd branch create pkg/dev >/dev/null
pgd branch create pkg/off >/dev/null
sql pkg/dev "CREATE TABLE t AS SELECT 42 AS v"
pgd stop pkg/off >/dev/null
pgd setup --detach >/dev/null
[ -z "$(pool_postmasters)" ] || fail "postmasters left after detach: $(pool_postmasters)"
mountpoint -q "$MNT" && fail "the pool is still mounted after detach"
grep '^ExecStart=' "$unit" | sed 's/^ExecStart=//' | while read -r cmd; do
  # shellcheck disable=SC2086
  $cmd >/dev/null || fail "the boot unit's '$cmd' failed"
done
assert_eq "$(pgd branch get pkg/main --json | jq -r .status)" "running" "main after the boot"
assert_eq "$(pgd branch get pkg/dev --json | jq -r .status)" "running" "dev after the boot"
assert_eq "$(pgd branch get pkg/off --json | jq -r .status)" "stopped" "a stopped branch stays stopped"
assert_eq "$(sql pkg/dev "SELECT v FROM t")" "42" "dev's data after the boot"
pass "after a simulated reboot the unit's commands bring every running branch back"
snap_cmd=$(grep '^ExecStart=' "$snap_unit" | sed 's/^ExecStart=//')
# shellcheck disable=SC2086
expect_exit 0 $snap_cmd --json
assert_eq "$(jq -r '[.branches[].branch] | sort | join(",")' <<<"$OUT")" "pkg/dev,pkg/main" "the timer's run looks at every running branch"
pass "the snapshot timer's command runs"

dpkg -r pgd >/dev/null
[ -e /usr/bin/pgd ] && fail "/usr/bin/pgd left after dpkg -r"
[ -e /usr/lib/systemd/system/pgd-snapshots.timer ] && fail "the snapshot timer left after dpkg -r"
[ -e /usr/lib/systemd/system/pgd-serve.service ] && fail "the serve unit left after dpkg -r"
pass "removing the package removes pgd"
