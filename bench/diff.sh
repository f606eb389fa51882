#!/usr/bin/env bash
# pgd diff's speed (issue 20): two branches of a scale-100 pgbench project plus
# 200 more tables, views and functions; the dev branch migrated (a column, an
# index, a function and a view changed, a table dropped) and its data changed.
# Beside the obvious alternative, in the same run and alternating: the same
# two schemas by `pg_dump --schema-only` twice and `diff -u` (a text diff, not
# object by object). Then the whole diff (schema and data) once per round.
# Usage: sudo bash bench/diff.sh [build/pgd]
# Env: BENCH_SCALE (100), BENCH_ROUNDS (5), BENCH_JSON=FILE, BENCH_REPORT=FILE.
SCALE=${BENCH_SCALE:-100}
ROUNDS=${BENCH_ROUNDS:-5}
source "$(dirname "$0")/lib.sh" "${1:-build/pgd}"

machine >&2
echo "# loading pgbench scale $SCALE and 200 more objects ..." >&2
bench_project 20G shop
port=$("$PGD" branch get shop/main --json | jq -r .port)
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
q "$port" "DO \$\$ BEGIN FOR i IN 1..70 LOOP
  EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text, n numeric DEFAULT 0)', i);
  EXECUTE format('INSERT INTO t%s SELECT g, md5(g::text), g FROM generate_series(1, 1000) g', i);
  EXECUTE format('CREATE VIEW v%s AS SELECT id, v FROM t%s WHERE n > 10', i, i);
  EXECUTE format('CREATE FUNCTION f%s(x int) RETURNS int LANGUAGE sql AS ''SELECT x + %s''', i, i);
END LOOP; END \$\$; CHECKPOINT" >/dev/null
"$PGD" branch create shop/dev >/dev/null
dev=$("$PGD" branch get shop/dev --json | jq -r .port)
q "$dev" "ALTER TABLE t1 ADD COLUMN extra int; CREATE INDEX ON t2 (v); DROP VIEW v3; DROP TABLE t3;
  CREATE OR REPLACE FUNCTION f4(x int) RETURNS int LANGUAGE sql AS 'SELECT x * 4';
  CREATE OR REPLACE VIEW v5 AS SELECT id, v FROM t5 WHERE n > 20;
  UPDATE t6 SET v = 'changed' WHERE id <= 100; DELETE FROM t7 WHERE id > 900;
  UPDATE pgbench_branches SET bbalance = bbalance + 1" >/dev/null
objects=$(q "$port" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")
objects=$((objects + $(q "$port" "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'")))

by_hand() {  # pg_dump -s of both, then diff -u
  "$PGBIN/pg_dump" --schema-only -h 127.0.0.1 -p "$port" -U postgres postgres >"$T/a.sql"
  "$PGBIN/pg_dump" --schema-only -h 127.0.0.1 -p "$dev" -U postgres postgres >"$T/b.sql"
  diff -u "$T/a.sql" "$T/b.sql" >/dev/null || true
}
: >"$T/schema.txt"; : >"$T/hand.txt"; : >"$T/full.txt"
for r in $(seq 1 "$ROUNDS"); do
  t0=$(now_ms); "$PGD" diff shop/main shop/dev --schema --json >"$T/out.json"; t1=$(now_ms)
  by_hand; t2=$(now_ms)
  "$PGD" diff shop/main shop/dev --json >"$T/full.json"; t3=$(now_ms)
  echo $((t1 - t0)) >>"$T/schema.txt"; echo $((t2 - t1)) >>"$T/hand.txt"; echo $((t3 - t2)) >>"$T/full.txt"
done
changed=$(jq '.objects | length' "$T/out.json")
tables=$(jq '[.tables[] | select(.differs)] | length' "$T/full.json")
read -r _ s_med s_p95 s_max < <(stats <"$T/schema.txt")
read -r _ h_med _ _ < <(stats <"$T/hand.txt")
read -r _ f_med f_p95 _ < <(stats <"$T/full.txt")
{
  machine
  echo "# pgbench scale $SCALE + 70 x (table, view, function): $objects relations and functions; $ROUNDS rounds, alternating"
  printf "%-58s %10s %8s\n" "" "median ms" "p95 ms"
  printf "%-58s %10d %8d\n" "pgd diff --schema ($changed objects differ)" "$s_med" "$s_p95"
  printf "%-58s %10d %8s\n" "pg_dump --schema-only x 2 + diff -u (text only)" "$h_med" "-"
  printf "%-58s %10d %8d\n" "pgd diff, schema and data ($tables tables differ)" "$f_med" "$f_p95"
} | tee "$T/table.txt"
if [ -n "${BENCH_REPORT:-}" ]; then
  { echo "## pgd diff against pg_dump + diff (bench/diff.sh)"; echo; echo '```'; cat "$T/table.txt"; echo '```'; echo; } >>"$BENCH_REPORT"
fi
[ -z "${BENCH_JSON:-}" ] || json_obj schema_median_ms "$s_med" schema_p95_ms "$s_p95" by_hand_median_ms "$h_med" \
  full_median_ms "$f_med" objects "$objects" changed_objects "$changed" | bench_json "$BENCH_JSON" '.[0]'
