#!/usr/bin/env bash
# The demo: installs and builds pgd, sets up the embedded btrfs pool, creates
# project 'demo', loads pgbench data, branches it, shows with SQL that the
# branch is an isolated copy, and prints `pgd status` and the branch timings.
# Run as root: bash scripts/demo.sh (not root: it runs itself through sudo).
# Re-running replaces the demo project.
# Afterwards: build/pgd project delete demo --force && build/pgd setup --detach
set -euo pipefail
source "$(dirname "$0")/as_root.sh"
cd "$(dirname "$0")/.."
SCALE=${DEMO_SCALE:-10}
POOL_FILE=${PGD_POOL_FILE:-/var/lib/pgd/pool.img}
PGBIN=/usr/lib/postgresql/15/bin

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing dependencies and building"
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
pgd() { build/pgd "$@"; }

say "Setting up the embedded pool ($POOL_FILE, btrfs on a loop device)"
pgd setup --pool-file "$POOL_FILE" --size 20G
if pgd project get demo >/dev/null 2>&1; then pgd project delete demo --force; fi

say "Creating project 'demo'"
pgd project create demo

# pgd keeps a service entry per branch (~/.pg_service.conf) and its password
# (~/.pgpass, 0600): psql and pgbench connect by service name, with no password
# on any command line.
q() { "$PGBIN/psql" "service=$1" -XtAq -c "$2"; }

say "Loading pgbench data, scale $SCALE (~$((SCALE * 15)) MB)"
"$PGBIN/pgbench" -i -q -s "$SCALE" service=demo-main 2>&1 | tail -n 1

say "Branching demo/main -> demo/dev"
pgd branch create demo/dev

say "The branch is a full copy; writes to it stay in it"
echo "accounts on main: $(q demo-main "SELECT count(*) FROM pgbench_accounts")"
echo "accounts on dev:  $(q demo-dev "SELECT count(*) FROM pgbench_accounts")"
q demo-dev "UPDATE pgbench_accounts SET abalance = abalance + 100 WHERE aid <= 1000"
q demo-dev "CREATE TABLE experiment (note text)"
echo "after 'UPDATE ... +100 on 1000 accounts' and 'CREATE TABLE experiment' on dev:"
echo "  sum(abalance) main: $(q demo-main "SELECT sum(abalance) FROM pgbench_accounts")," \
     "dev: $(q demo-dev "SELECT sum(abalance) FROM pgbench_accounts")"
echo "  table 'experiment' on main: $(q demo-main "SELECT count(*) FROM pg_tables WHERE tablename = 'experiment'")," \
     "on dev: $(q demo-dev "SELECT count(*) FROM pg_tables WHERE tablename = 'experiment'")"

say "Branch timings (five more branches of the loaded database)"
for i in 1 2 3 4 5; do
  pgd branch create "demo/t$i" --json | jq -r '"demo/t'"$i"': \(.total_ms) ms total (" + ([.timings_ms | to_entries[] | "\(.key) \(.value)"] | join(", ")) + ")"'
done
echo "exclusive size of demo/dev after its update: $(pgd branch get demo/dev --json | jq -r .size_bytes) bytes"

say "pgd status"
pgd status
echo
echo "Connect to a branch: psql service=demo-dev   (or: pgd connect demo/dev)"
