#!/usr/bin/env bash
# Zero loss under load: while a writer commits numbered rows as fast as it
# can, 20 branches are made; each holds every row whose commit returned before
# its branch command started, and the source loses nothing.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create live >/dev/null
sql live/main "CREATE TABLE w (id int PRIMARY KEY)"
port=$(port_of live/main)
password=$(pgd branch password live/main)

# The writer: one client committing one row per transaction as fast as it
# can, ids from a sequence, so the committed ids are exactly 1..max(id).
sql live/main "CREATE SEQUENCE s"
echo "INSERT INTO w VALUES (nextval('s'));" >"$T/insert.sql"
PGPASSWORD=$password /usr/lib/postgresql/15/bin/pgbench -n -c 1 -T 120 -f "$T/insert.sql" \
  -h 127.0.0.1 -p "$port" -U postgres postgres >"$T/pgbench.out" 2>&1 &
writer=$!
sleep 1

for n in $(seq 1 20); do
  last=$(sql live/main "SELECT max(id) FROM w")  # every row up to here has committed
  pgd branch create "live/b$n" >/dev/null
  echo "$n $last" >>"$T/expect"
done
kill -TERM "$writer" 2>/dev/null || true  # background jobs ignore SIGINT
wait "$writer" || true
final=$(sql live/main "SELECT max(id) FROM w")
[ "$final" -gt 1000 ] || fail "the writer barely wrote ($final rows)"

while read -r n last; do
  got=$(sql "live/b$n" "SELECT count(*) FROM w WHERE id <= $last")
  assert_eq "$got" "$last" "branch b$n holds all $last rows committed before it started"
done <"$T/expect"
assert_eq "$(sql live/main "SELECT count(*) FROM w")" "$final" "source lost nothing"
pass "20 branches under load each hold every row committed before they started ($final rows written)"
