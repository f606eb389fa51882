#!/usr/bin/env bash
# The benchmark suite in one command: every script in turn, each printing its
# table; the results also go to docs/benchmarks.md (or $1) and bench/results.json.
# Takes ~15 minutes on a 2-core machine (5 of them are pgbench feeding PITR).
# Usage: sudo bash bench/run_all.sh [report.md]
set -euo pipefail
cd "$(dirname "$0")/.."
REPORT=$(realpath -m "${1:-docs/benchmarks.md}")
[ -x build/pgd ] || bash scripts/build.sh >/dev/null
{
  echo "# Benchmarks"
  echo
  echo "Produced by \`sudo bash bench/run_all.sh\` on $(date -u +%F); each section is printed by"
  echo "the script named in its heading, all in one run on the same machine."
  echo
} >"$REPORT"
export BENCH_REPORT=$REPORT
BENCH_JSON=bench/results.json bash bench/branch_ready.sh build/pgd
bash bench/pitr_replay.sh build/pgd
bash bench/scale.sh build/pgd
echo "Report written to $REPORT"
