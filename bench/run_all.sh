#!/usr/bin/env bash
# The benchmark suite in one command: every script in turn, each printing its
# table; the results also go to docs/benchmarks.md (or $1), with a table of the
# issues' targets computed from the scripts' JSON (bench/results/*.json).
# Takes ~80 minutes on a 2-core machine (~25 of them run-time pgbench runs, 5 are
# pgbench feeding PITR).
# Usage: sudo bash bench/run_all.sh [report.md]
# Env: BENCH_LARGE=1 adds branch_ready.sh at scale 1000 and size_interleaved.sh (15 GB;
#      ~40 GB free disk, ~10 min more).
set -euo pipefail
cd "$(dirname "$0")/.."
REPORT=$(realpath -m "${1:-docs/benchmarks.md}")
OUT=bench/results
mkdir -p "$OUT"
rm -f "$OUT"/*.json  # a figure this run does not make must not pass for one of it
[ -x build/pgd ] || bash scripts/build.sh >/dev/null
{
  echo "# Benchmarks"
  echo
  echo "Produced by \`sudo bash bench/run_all.sh\` on $(date -u +%F); each section is printed by"
  echo "the script named in its heading, all in one run on the same machine; the targets table at"
  echo "the end is computed from the scripts' JSON output ($OUT/)."
  echo
} >"$REPORT"
export BENCH_REPORT=$REPORT
BENCH_JSON=$OUT/branch_ready.json bash bench/branch_ready.sh build/pgd
BENCH_JSON=$OUT/busy_aging.json bash bench/busy_aging.sh build/pgd
BENCH_JSON=$OUT/ready.json bash bench/ready.sh build/pgd
BENCH_FS=xfs BENCH_JSON=$OUT/ready_xfs.json bash bench/ready.sh build/pgd
if [ -n "${BENCH_LARGE:-}" ]; then  # the 15 GB figures (no full copies: they would need 45 GB more)
  BENCH_SCALE=1000 BENCH_COPIES=0 BENCH_TEMPLATES=0 BENCH_JSON=$OUT/branch_ready_1000.json \
    bash bench/branch_ready.sh build/pgd
  # The size target from both sizes in one pool, alternately (separate runs drift).
  BENCH_JSON=$OUT/size_interleaved.json bash bench/size_interleaved.sh build/pgd
fi
BENCH_JSON=$OUT/pitr_replay.json bash bench/pitr_replay.sh build/pgd
BENCH_JSON=$OUT/import.json bash bench/import.sh build/pgd
BENCH_JSON=$OUT/follow.json bash bench/follow.sh build/pgd
BENCH_JSON=$OUT/serve.json bash bench/serve.sh build/pgd
BENCH_JSON=$OUT/parallel_create.json bash bench/parallel_create.sh build/pgd
BENCH_JSON=$OUT/scale.json bash bench/scale.sh build/pgd
BENCH_JSON=$OUT/runtime.json bash bench/runtime.sh build/pgd
BENCH_JSON=$OUT/fresh.json bash bench/fresh.sh build/pgd
BENCH_JSON=$OUT/diff.json bash bench/diff.sh build/pgd
bash bench/targets.sh "$OUT" >>"$REPORT"
echo "Report written to $REPORT"
