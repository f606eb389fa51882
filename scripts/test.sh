#!/usr/bin/env bash
# The test command: install dependencies, build, run every unit test and every
# integration scenario (real pgd, real Postgres, a loop-mounted btrfs pool per
# scenario). Needs root for mount: as root it runs, otherwise through sudo.
# In CI (CI=true) or with PGD_SANITIZED_TESTS=1 it first builds with ASan and
# UBSan (build-asan/, ~9 minutes on 2 cores) and runs the unit tests under them.
set -euo pipefail
source "$(dirname "$0")/as_root.sh"
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
if [ "${CI:-}" = true ] || [ "${PGD_SANITIZED_TESTS:-}" = 1 ]; then
  BUILD_DIR=build-asan bash scripts/build.sh -DPGD_SANITIZE=ON
  echo "test.sh: the unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/pgd_unit_tests --gtest_brief=1
fi
cd build
ctest --output-on-failure "$@"
