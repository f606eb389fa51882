#!/usr/bin/env bash
# The test command: install dependencies, build, run every unit test and every
# integration scenario (real pgd, real Postgres, a loop-mounted btrfs pool per
# scenario). Needs root for mount: as root it runs, otherwise through sudo.
set -euo pipefail
source "$(dirname "$0")/as_root.sh"
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build
ctest --output-on-failure "$@"
