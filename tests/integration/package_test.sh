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
pass "make install PREFIX=... installs pgd, pgd(1) and the bash completion"

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

setup_pool
pgd project create pkg >/dev/null
expect_exit 0 /usr/bin/pgd doctor --json
assert_eq "$(echo "$OUT" | jq -r .healthy)" "true" "packaged pgd doctor"
pass "the packaged pgd's doctor finds a healthy pool and project"

dpkg -r pgd >/dev/null
[ -e /usr/bin/pgd ] && fail "/usr/bin/pgd left after dpkg -r"
pass "removing the package removes pgd"
