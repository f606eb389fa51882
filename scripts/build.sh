#!/usr/bin/env bash
# Configures and builds pgd into build/ (Release with debug info). Extra
# arguments go to cmake's configure step, e.g. -DPGD_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja "$@" >/dev/null
cmake --build "$BUILD_DIR"
