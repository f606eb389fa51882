#!/usr/bin/env bash
# pgd diff: schema object by object and data table by table, between running
# branches, a snapshot and a stopped branch; what a killed diff leaves.
source "$(dirname "$0")/lib.sh"
setup_pool

pgd project create shop >/dev/null
sql shop/main "
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric CONSTRAINT price_positive CHECK (price > 0));
INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 2000) g;
CREATE TABLE log (msg text);
INSERT INTO log SELECT 'm' || g FROM generate_series(1, 300) g;
INSERT INTO log VALUES ('twice'), ('twice');
CREATE TABLE legacy (id int);
CREATE TABLE orders (id int PRIMARY KEY, item int REFERENCES items, qty int);
INSERT INTO orders SELECT g, g, 1 FROM generate_series(1, 500) g;
CREATE FUNCTION total(q int, p numeric) RETURNS numeric LANGUAGE sql AS 'SELECT q * p';
CREATE VIEW expensive AS SELECT id FROM items WHERE price > 100;
CREATE ROLE reader;
GRANT SELECT ON items TO reader;
CREATE SEQUENCE ticket START 100;
CREATE DOMAIN qty AS int CHECK (VALUE >= 0);
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE MATERIALIZED VIEW item_count AS SELECT count(*) FROM items;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON orders USING (id > 0);
CREATE PUBLICATION pub FOR TABLE items;
COMMENT ON TABLE items IS 'what we sell';"
pgd snapshot create shop/main --label before-migration >/dev/null
pgd branch create shop/dev >/dev/null

# No changes yet: nothing differs.
expect_exit 0 pgd diff shop/main shop/dev
assert_contains "$OUT" "Schema: no differences" "identical schema"
assert_contains "$OUT" "Data: no differences in the 4 tables on both sides" "identical data"
pass "a fresh branch has no differences from its parent"

# A migration of every kind, and data changes of every kind.
sql shop/dev "
ALTER TABLE items ADD COLUMN stock int DEFAULT 0;
ALTER TABLE items ALTER COLUMN name DROP NOT NULL;
ALTER TABLE orders DROP COLUMN qty;
CREATE INDEX items_name ON items (name);
CREATE OR REPLACE FUNCTION total(q int, p numeric) RETURNS numeric LANGUAGE sql AS 'SELECT q * p * 1.2';
CREATE OR REPLACE VIEW expensive AS SELECT id FROM items WHERE price > 200;
CREATE EXTENSION pgcrypto;
DROP TABLE legacy;
REVOKE SELECT ON items FROM reader; GRANT SELECT, UPDATE ON items TO reader;
ALTER SEQUENCE ticket INCREMENT BY 10;
ALTER DOMAIN qty DROP CONSTRAINT qty_check; ALTER DOMAIN qty ADD CONSTRAINT qty_check CHECK (VALUE > 0);
ALTER TYPE mood ADD VALUE 'happy';
DROP MATERIALIZED VIEW item_count; CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM items;
DROP TRIGGER orders_touch ON orders; CREATE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch();
DROP POLICY mine ON orders; CREATE POLICY mine ON orders USING (true);
ALTER PUBLICATION pub ADD TABLE orders;
COMMENT ON TABLE items IS 'what we sell, and more';
ALTER TABLE log OWNER TO reader;
ALTER TABLE items RENAME CONSTRAINT price_positive TO price_above_zero;
UPDATE items SET price = price + 1 WHERE id <= 25;
DELETE FROM orders WHERE id > 490;
DELETE FROM items WHERE id > 1990;
INSERT INTO items (id, name, price) SELECT g, 'new ' || g, 1 FROM generate_series(3001, 3007) g;
DELETE FROM log WHERE msg IN ('m1', 'm2');
INSERT INTO log VALUES ('a'), ('b'), ('c');
DELETE FROM log WHERE ctid = (SELECT min(ctid) FROM log WHERE msg = 'twice');"

J=$(pgd diff shop/main shop/dev --json)
obj() { jq -r --arg k "$1" --arg n "$2" '.objects[] | select(.kind == $k and .name == $n) | .status' <<<"$J"; }
assert_eq "$(obj TABLE items)" "changed" "items' columns"
assert_eq "$(obj TABLE orders)" "changed" "a dropped column"
assert_eq "$(obj INDEX items_name)" "added" "a new index"
assert_eq "$(obj FUNCTION 'total(integer, numeric)')" "changed" "a function body"
assert_eq "$(obj VIEW expensive)" "changed" "a view"
assert_eq "$(obj EXTENSION pgcrypto)" "added" "an extension"
assert_eq "$(obj TABLE legacy)" "removed" "a dropped table"
assert_eq "$(obj ACL 'TABLE items')" "changed" "a grant"
assert_eq "$(obj SEQUENCE ticket)" "changed" "a sequence"
assert_eq "$(obj DOMAIN qty)" "changed" "a domain"
assert_eq "$(obj TYPE mood)" "changed" "an enum type"
assert_eq "$(obj 'MATERIALIZED VIEW' item_count)" "changed" "a materialized view"
assert_eq "$(obj TRIGGER 'orders orders_touch')" "changed" "a trigger"
assert_eq "$(obj POLICY 'orders mine')" "changed" "a policy"
assert_eq "$(obj 'PUBLICATION TABLE' 'pub orders')" "added" "a publication's new table"
assert_eq "$(obj COMMENT 'TABLE items')" "changed" "a comment"
assert_contains "$(jq -r '.objects[] | select(.kind == "TABLE" and .name == "log") | .after' <<<"$J")" \
  "OWNER TO reader" "an owner"
# A CHECK constraint is part of its table's definition (pg_dump's choice).
items_diff=$(jq -r '.objects[] | select(.kind == "TABLE" and .name == "items") | "\(.before)\n=>\n\(.after)"' <<<"$J")
assert_contains "$items_diff" "CONSTRAINT price_positive CHECK" "the constraint's old name"
assert_contains "$items_diff" "CONSTRAINT price_above_zero CHECK" "the constraint's new name"
assert_contains "$items_diff" "name text NOT NULL" "the old NOT NULL"
assert_contains "$(jq -r '.objects[] | select(.kind == "EXTENSION") | .after' <<<"$J")" "-- version 1." "the extension's version"
assert_contains "$(jq -r '.objects[] | select(.name == "items" and .kind == "TABLE") | .after' <<<"$J")" \
  "stock integer DEFAULT 0" "the new definition"
assert_eq "$(jq -r '.objects[] | select(.kind == "TABLE" and .name == "legacy") | .after' <<<"$J")" "null" \
  "a removed object has no 'after'"
# Sorted by kind, schema and name.
assert_eq "$(jq -c '[.objects[] | [.kind, .schema, .name]]' <<<"$J")" \
  "$(jq -c '[.objects[] | [.kind, .schema, .name]] | sort' <<<"$J")" "stable order"
pass "schema: columns, index, function, view, extension and version, dropped table, grant, renamed constraint, sequence, domain, type, materialized view, trigger, policy, publication, comment, owner"

tbl() { jq -r --arg t "$1" '.tables[] | select(.table == $t) | "\(.rows_a) \(.rows_b) \(.inserted) \(.deleted) \(.changed) \(.method)"' <<<"$J"; }
assert_eq "$(tbl items)" "2000 1997 7 10 25 primary key" "items: by primary key"
assert_eq "$(tbl orders)" "500 490 0 10 0 primary key" "orders: a dropped column is no row change"
assert_eq "$(tbl log)" "302 302 3 3 0 whole row" "log: without a primary key, duplicates counted"
assert_eq "$(jq -r '[.tables[].table] | join(",")' <<<"$J")" "items,log,orders" "tables on both sides only"
pass "data: inserted, deleted and changed rows, with and without a primary key"

# The human form: a unified diff of each changed object, no colour in a pipe.
expect_exit 0 pgd diff shop/main shop/dev --schema
assert_contains "$OUT" "~ FUNCTION public.total(integer, numeric)" "changed function listed"
assert_contains "$OUT" "-    AS \$\$SELECT q * p\$\$;" "old body line"
assert_contains "$OUT" "+    AS \$\$SELECT q * p * 1.2\$\$;" "new body line"
assert_contains "$OUT" "+ EXTENSION pgcrypto" "added extension"
assert_contains "$OUT" "- TABLE public.legacy" "removed table"
[[ "$OUT" != *"Data"* ]] || fail "--schema printed the data part"
[[ "$OUT" != *$'\033'* ]] || fail "colour codes in a pipe"
expect_exit 0 pgd diff shop/main shop/dev --data
assert_contains "$OUT" "public.items" "data table"
[[ "$OUT" != *"Schema"* ]] || fail "--data printed the schema part"
assert_eq "$(pgd diff shop/main shop/dev --data --data-limit 8K --json | jq -r '.tables[] | select(.table == "items") | "\(.method) \(.inserted)"')" \
  "counts only null" "over the data limit: counts only"
pass "--schema, --data and --data-limit"

# --rows: the differing rows of one table, capped, the rest counted.
R=$(pgd diff shop/main shop/dev --rows items --max-rows 100 --json)
assert_eq "$(jq -r '"\(.inserted) \(.deleted) \(.changed) \(.rows | length) \(.more)"' <<<"$R")" "7 10 25 42 0" "items' rows"
assert_eq "$(jq -r '.rows[] | select(.key == "(3)") | "\(.status) \(.a) \(.b)"' <<<"$R")" \
  'changed (3,"item 3",4.5) (3,"item 3",5.5)' "a changed row, both sides"
assert_eq "$(jq -r '.rows[] | select(.key == "(3001)") | "\(.status) \(.a) \(.b)"' <<<"$R")" \
  'inserted null (3001,"new 3001",1)' "an inserted row"
assert_eq "$(jq -r '.rows[] | select(.key == "(2000)") | "\(.status) \(.b)"' <<<"$R")" "deleted null" "a deleted row"
R=$(pgd diff shop/main shop/dev --rows public.items --max-rows 5 --json)
assert_eq "$(jq -r '"\(.rows | length) \(.more)"' <<<"$R")" "5 37" "capped, the rest counted"
R=$(pgd diff shop/main shop/dev --rows log --json)
assert_eq "$(jq -r '[.rows[] | "\(.status) \(.key)"] | sort | join(",")' <<<"$R")" \
  "deleted (m1),deleted (m2),deleted (twice),inserted (a),inserted (b),inserted (c)" "whole rows, duplicates"
expect_exit 0 pgd diff shop/main shop/dev --rows items --max-rows 3
assert_contains "$OUT" "Rows of public.items" "human form"
assert_contains "$OUT" "... and 39 more" "human form counts the rest"
expect_exit 1 pgd diff shop/main shop/dev --rows nosuch
assert_contains "$ERR" "has no table 'nosuch'" "an unknown table"
expect_exit 2 pgd diff shop/main shop/dev --rows items --schema
expect_exit 2 pgd diff shop/main shop/dev --rows items --max-rows 0
pass "--rows lists one table's differing rows, capped"

# A snapshot against a branch, and a stopped branch: private copies, removed after.
J=$(pgd diff shop/main@before-migration shop/dev --json)
assert_eq "$(jq -r .a <<<"$J")" "shop/main@before-migration" "side a names the snapshot"
assert_eq "$(tbl items)" "2000 1997 7 10 25 primary key" "the snapshot's data"
sql shop/main "INSERT INTO items VALUES (5000, 'after the snapshot', 9)"
assert_eq "$(pgd diff shop/main@before-migration shop/main --json | jq -r '.tables[] | select(.table == "items") | .inserted')" \
  "1" "a snapshot against its own branch"
pgd stop shop/dev >/dev/null
assert_eq "$(pgd diff shop/main shop/dev --json | jq -r '.tables[] | select(.table == "items") | "\(.rows_a) \(.rows_b)"')" \
  "2001 1997" "a stopped branch"
assert_eq "$(pgd branch get shop/dev --json | jq -r .status)" "stopped" "the stopped branch stays stopped"
assert_eq "$(pool_volumes | grep -c '\.diff-' || true)" "0" "no private copy left"
assert_eq "$(pool_postmasters | grep -c '\.diff-' || true)" "0" "no private server left"
assert_eq "$(ls "$PGD_HOME/run" | grep -c diff || true)" "0" "no private socket dir left"
pass "a snapshot and a stopped branch are read from private copies, removed afterwards"

# Errors: usage (2), unknown branch or snapshot (1), nothing made.
expect_exit 2 pgd diff shop/main
expect_exit 2 pgd diff shop/main "Shop/Dev"
expect_exit 2 pgd diff shop/main shop/dev@
expect_exit 2 pgd diff shop/main shop/dev --schema --data
expect_exit 2 pgd diff shop/main shop/dev --data-limit lots
expect_exit 1 pgd diff shop/main shop/nope
assert_contains "$ERR" "shop/nope" "names the missing branch"
expect_exit 1 pgd diff shop/main shop/main@nope
assert_contains "$ERR" "no snapshot with id or label 'nope'" "missing snapshot"
pass "bad input is refused"

# Ctrl-C while its private copy exists (the diff held with SIGSTOP, so the
# signal lands there): it stops, removes the copy and exits 130.
"$PGD" diff shop/main@before-migration shop/dev >/dev/null 2>"$T/int.err" &
differ=$!
for _ in $(seq 1 1000); do ls -a "$MNT/shop" | grep -q '^\.diff-' && break; sleep 0.01; done
kill -STOP "$differ"
ls -a "$MNT/shop" | grep -q '^\.diff-' || { kill -CONT "$differ"; fail "the diff's copy was not seen"; }
kill -INT "$differ"
kill -CONT "$differ"
set +e; wait "$differ"; rc=$?; set -e
assert_eq "$rc" "130" "an interrupted diff exits 128 + SIGINT"
assert_eq "$(pool_volumes | grep -c '\.diff-' || true)" "0" "no private copy left after Ctrl-C"
assert_eq "$(pool_postmasters | grep -c '\.diff-' || true)" "0" "no private server left after Ctrl-C"
expect_exit 0 pgd doctor
pass "Ctrl-C during a diff removes its private copy"

# Killed while its private copy runs: doctor sees the copy and removes it.
set +e
PGD_FAULT=diff.copy:started "$PGD" diff shop/main shop/dev >/dev/null 2>&1
rc=$?
set -e
assert_eq "$rc" "137" "pgd killed at the fault point"
assert_eq "$(pool_volumes | grep -c '\.diff-' || true)" "1" "the killed diff's copy is there"
assert_eq "$(pool_postmasters | grep -c '\.diff-' || true)" "1" "and its server runs"
expect_exit 1 pgd doctor
assert_contains "$OUT" "diff.copy" "doctor reports the interrupted diff"
assert_contains "$OUT" ".diff-" "doctor reports the copy"
expect_exit 0 pgd doctor --fix
assert_eq "$(pool_volumes | grep -c '\.diff-' || true)" "0" "doctor removed the copy"
assert_eq "$(pool_postmasters | grep -c '\.diff-' || true)" "0" "doctor stopped its server"
expect_exit 0 pgd doctor
pass "a diff killed with its private copy running leaves what doctor --fix removes"
