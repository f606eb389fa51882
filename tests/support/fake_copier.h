// A fake LogicalCopier and source database for unit tests of imports: it
// records each call (with the password it was given) and can fail one.
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

#include "postgres/logical_copy.h"

namespace pgd::test {

// Answers a query with the first entry whose needle the SQL contains.
using Answers = std::vector<std::pair<std::string, pg::Rows>>;

// The catalog of a small database, as read_catalog asks for it: one table
// with 3 rows, a sequence, a view, a function, pg_trgm, one large object.
inline Answers small_database() {
  return {{"c.relkind in", {{"r", "public.orders", "\"public\".\"orders\"", "8192"},
                            {"S", "public.orders_id_seq", "\"public\".\"orders_id_seq\"", "0"},
                            {"v", "public.big_orders", "\"public\".\"big_orders\"", "0"}}},
          {"quote_ident(n.nspname)", {{"public"}}},
          {"regprocedure", {{"public.double_it(integer)"}}},
          {"from pg_extension", {{"pg_trgm"}, {"plpgsql"}}},
          {"pg_sequences", {{"public.orders_id_seq", "3"}}},
          {"pg_largeobject_metadata", {{"1"}}},
          {"count(*) from only", {{"public.orders", "3"}}}};
}

class FakeCopier : public LogicalCopier {
 public:
  std::vector<std::string> calls;  // "dump_roles", "copy_data 2 streams", ...
  std::string fail_at;             // the call (its first word) that fails
  std::string connect_error;       // the first connect fails with this
  std::string server_version = "150004";
  Answers source = small_database();
  std::vector<std::string> passwords;  // the password each call was given

  Result<std::unique_ptr<pg::Session>> connect(const Endpoint& e, int) override {
    TRY(record("connect", e));
    if (!connect_error.empty()) {
      std::string error = connect_error;
      connect_error.clear();
      return fail(fmt::format("{}: connect: {}", e.label, error));
    }
    return std::unique_ptr<pg::Session>(std::make_unique<Session>(*this));
  }
  Result<std::string> dump_roles(int, const Endpoint& e) override {
    TRY(record("dump_roles", e));
    return std::string("CREATE ROLE app;\nALTER ROLE app WITH LOGIN;\nCREATE ROLE postgres;\n");
  }
  Status run_sql_file(int, const Endpoint& e, const std::string& path) override {
    return record("run_sql_file " + path, e);
  }
  Status dump_schema(int, const Endpoint& e, const std::string& snapshot, const std::string&) override {
    return record("dump_schema " + snapshot, e);
  }
  Status dump_schema_plain(int, const Endpoint& e, const std::string&) override {
    return record("dump_schema_plain", e);
  }
  Status restore_schema(int, const Endpoint& e, const std::string&, Section section, int jobs,
                        bool create, const Watch&) override {
    return record(fmt::format("restore_schema {} jobs={}{}", section == Section::PreData ? "pre" : "post",
                              jobs, create ? " create" : ""), e);
  }
  Status copy_data(int, const Endpoint& source, const std::string& snapshot, const Endpoint&,
                   const std::vector<TableGroup>& groups, const Watch&) override {
    return record(fmt::format("copy_data {} streams {}", groups.size(), snapshot), source);
  }

 private:
  class Session : public pg::Session {
   public:
    explicit Session(FakeCopier& c) : m_c(c) {}
    Result<pg::Rows> query(const std::string& sql) override {
      if (sql.find("pg_export_snapshot") != std::string::npos)
        return pg::Rows{{"00000003-0000001B-1", "shop", m_c.server_version, "9000000"}};
      for (auto& [needle, rows] : m_c.source)
        if (sql.find(needle) != std::string::npos) return rows;
      return pg::Rows{};
    }
    Status exec(const std::string&) override { return {}; }
    Result<std::string> encrypt_password(const std::string&, const std::string&) override {
      return fail("a source session encrypts no passwords");
    }

   private:
    FakeCopier& m_c;
  };

  Status record(const std::string& call, const Endpoint& e) {
    calls.push_back(call);
    passwords.push_back(e.password);
    if (!fail_at.empty() && call.rfind(fail_at, 0) == 0)
      return fail(fmt::format("{}: {} failed (exit 1): connection lost", e.label, fail_at));
    return {};
  }
};

}  // namespace pgd::test
