#include "core/diff.h"

#include <gtest/gtest.h>

#include "base/line_diff.h"
#include "postgres/schema_dump.h"

namespace pgd {
namespace {

// The shape of `pg_dump --schema-only` (PostgreSQL 15.18): a preamble, then
// one entry per object under its header.
constexpr const char* k_dump = R"(--
-- PostgreSQL database dump
--

\restrict AbCdEf123

-- Dumped from database version 15.18

SET statement_timeout = 0;

--
-- Name: total(integer, numeric); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.total(q integer, p numeric) RETURNS numeric
    LANGUAGE sql
    AS $$SELECT q * p$$;


ALTER FUNCTION public.total(q integer, p numeric) OWNER TO postgres;

--
-- Name: items; Type: TABLE; Schema: public; Owner: app
--

CREATE TABLE public.items (
    id integer NOT NULL
);


--
-- Name: items items_pkey; Type: CONSTRAINT; Schema: public; Owner: app
--

ALTER TABLE ONLY public.items
    ADD CONSTRAINT items_pkey PRIMARY KEY (id);


--
-- PostgreSQL database dump complete
--

\unrestrict AbCdEf123

)";

TEST(SchemaDump, SplitsEntriesByTheirHeaders) {
  auto objects = pg::parse_schema_dump(k_dump);
  ASSERT_EQ(objects.size(), 3u);
  EXPECT_EQ(objects[0].kind, "FUNCTION");
  EXPECT_EQ(objects[0].name, "total(integer, numeric)");
  EXPECT_EQ(objects[0].schema, "public");
  EXPECT_EQ(objects[0].owner, "postgres");
  EXPECT_EQ(objects[0].definition,
            "CREATE FUNCTION public.total(q integer, p numeric) RETURNS numeric\n    LANGUAGE sql\n"
            "    AS $$SELECT q * p$$;\n\n\nALTER FUNCTION public.total(q integer, p numeric) OWNER TO postgres;\n");
  EXPECT_EQ(objects[1].kind, "TABLE");
  EXPECT_EQ(objects[1].owner, "app");
  EXPECT_EQ(objects[1].definition, "CREATE TABLE public.items (\n    id integer NOT NULL\n);\n");
  EXPECT_EQ(objects[2].kind, "CONSTRAINT");
  EXPECT_EQ(objects[2].name, "items items_pkey");
  // Nothing of the preamble, the trailer or the per-run \restrict key.
  for (const auto& o : objects) {
    EXPECT_EQ(o.definition.find("restrict"), std::string::npos) << o.name;
    EXPECT_EQ(o.definition.find("dump complete"), std::string::npos) << o.name;
  }
}

TEST(SchemaDump, NumbersARepeatedKey) {
  std::string twice = "--\n-- Name: t; Type: TABLE; Schema: s; Owner: o\n--\n\nA;\n\n"
                      "--\n-- Name: t; Type: TABLE; Schema: s; Owner: o\n--\n\nB;\n";
  auto objects = pg::parse_schema_dump(twice);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].name, "t");
  EXPECT_EQ(objects[1].name, "t #2");
  EXPECT_EQ(objects[1].definition, "B;\n");
}

TEST(LineDiff, EqualTextsHaveNoHunks) { EXPECT_TRUE(unified_diff("a\nb\n", "a\nb\n").empty()); }

TEST(LineDiff, PrintsWhatDiffUPrints) {
  // diff -u of these two files, without its file headers.
  std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n";
  std::vector<std::string> want{"@@ -2,9 +2,10 @@", " 2", " 3", " 4", "-5", "+five", " 6", " 7", " 8",
                                " 9",  " 10", "+11"};
  EXPECT_EQ(unified_diff(a, b), want);
}

TEST(LineDiff, SeparatesDistantChangesIntoHunks) {
  std::string a, b;
  for (int i = 1; i <= 20; ++i) {
    a += std::to_string(i) + "\n";
    b += (i == 2 || i == 19 ? "x" : std::to_string(i)) + "\n";
  }
  auto hunks = unified_diff(a, b, 1);
  std::vector<std::string> want{"@@ -1,3 +1,3 @@", " 1", "-2", "+x", " 3",
                                "@@ -18,3 +18,3 @@", " 18", "-19", "+x", " 20"};
  EXPECT_EQ(hunks, want);
}

TEST(LineDiff, EmptySide) {
  std::vector<std::string> want{"@@ -0,0 +1,2 @@", "+a", "+b"};
  EXPECT_EQ(unified_diff("", "a\nb\n"), want);
}

pg::SchemaObject object(const std::string& kind, const std::string& name, const std::string& def,
                        const std::string& owner = "app") {
  return pg::SchemaObject{kind, "public", name, owner, def};
}

TEST(CompareObjects, AddedRemovedChangedSorted) {
  std::vector<pg::SchemaObject> a{object("TABLE", "b", "B1\n"), object("TABLE", "a", "A\n"),
                                  object("INDEX", "gone", "G\n"), object("VIEW", "v", "V\n")};
  std::vector<pg::SchemaObject> b{object("TABLE", "a", "A\n"), object("TABLE", "b", "B2\n"),
                                  object("FUNCTION", "f()", "F\n"), object("VIEW", "v", "V\n", "other")};
  auto changes = compare_objects(a, b);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].kind + " " + changes[0].name + " " + changes[0].status, "FUNCTION f() added");
  EXPECT_EQ(changes[0].after, "F\n");
  EXPECT_EQ(changes[1].kind + " " + changes[1].name + " " + changes[1].status, "INDEX gone removed");
  EXPECT_EQ(changes[1].before, "G\n");
  EXPECT_EQ(changes[2].kind + " " + changes[2].name + " " + changes[2].status, "TABLE b changed");
  std::vector<std::string> diff{"@@ -1 +1 @@", "-B1", "+B2"};
  EXPECT_EQ(changes[2].diff, diff);
  // An owner changed is a change, though pg_dump's text may say it elsewhere.
  EXPECT_EQ(changes[3].kind + " " + changes[3].name + " " + changes[3].status, "VIEW v changed");
}

// Batches handed out one call at a time, then an empty one.
RowBatches batches(std::vector<pg::Rows> all) {
  auto state = std::make_shared<std::pair<std::vector<pg::Rows>, size_t>>(std::move(all), 0);
  return [state]() -> Result<pg::Rows> {
    if (state->second >= state->first.size()) return pg::Rows{};
    return state->first[state->second++];
  };
}

TEST(MergeRowStreams, CountsByKeyAcrossBatches) {
  auto a = batches({{{"1", "h1", "1"}, {"2", "h2", "1"}}, {{"4", "h4", "1"}, {"5", "h5", "1"}}});
  auto b = batches({{{"2", "h2", "1"}}, {{"3", "h3", "1"}, {"4", "X", "1"}}, {{"6", "h6", "1"}}});
  auto counts = merge_row_streams(a, b);
  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(counts->inserted, 2);  // 3, 6
  EXPECT_EQ(counts->deleted, 2);   // 1, 5
  EXPECT_EQ(counts->changed, 1);   // 4
}

TEST(MergeRowStreams, ShowsEachDifferingKey) {
  auto a = batches({{{"1", "h1", "1"}, {"2", "h2", "1"}, {"4", "h4", "1"}}});
  auto b = batches({{{"2", "h2", "1"}, {"3", "h3", "1"}, {"4", "X", "1"}}});
  std::vector<std::string> seen;
  auto counts = merge_row_streams(a, b, [&](const RowDifference& d) {
    seen.push_back(std::string(d.status) + " " + (d.a ? (*d.a)[0] : "-") + " " + (d.b ? (*d.b)[0] : "-"));
  });
  ASSERT_TRUE(counts);
  std::vector<std::string> want{"deleted 1 -", "inserted - 3", "changed 4 4"};
  EXPECT_EQ(seen, want);
}

TEST(MergeRowStreams, WholeRowCountsAsMultisets) {
  // Without a primary key: key = the row's hash, count = how many such rows.
  auto a = batches({{{"r1", "", "2"}, {"r2", "", "1"}}});
  auto b = batches({{{"r1", "", "1"}, {"r3", "", "3"}}});
  auto counts = merge_row_streams(a, b);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->inserted, 3);
  EXPECT_EQ(counts->deleted, 2);
  EXPECT_EQ(counts->changed, 0);
}

TEST(MergeRowStreams, PassesOnAServerError) {
  RowBatches broken = []() -> Result<pg::Rows> { return fail("connection lost"); };
  auto counts = merge_row_streams(batches({}), broken);
  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().message, "connection lost");
}

TEST(DiffSide, ParsesABranchOrASnapshot) {
  auto plain = parse_diff_side("shop/dev");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->full(), "shop/dev");
  EXPECT_TRUE(plain->snapshot.empty());
  auto snap = parse_diff_side("shop/main@before-migration");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->branch.branch, "main");
  EXPECT_EQ(snap->snapshot, "before-migration");
  for (const char* bad : {"shop/main@", "shop", "Shop/main", "@x"}) {
    auto r = parse_diff_side(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::Usage) << bad;
  }
}

}  // namespace
}  // namespace pgd
