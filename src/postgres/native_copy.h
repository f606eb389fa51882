// The real LogicalCopier: libpq for the session, and
// /usr/lib/postgresql/<major>/bin/{pg_dump,pg_restore,pg_dumpall,psql}.
#pragma once

#include "postgres/logical_copy.h"

namespace pgd {

class NativeCopier : public LogicalCopier {
 public:
  Result<std::unique_ptr<pg::Session>> connect(const Endpoint& source, int timeout_s) override;
  Result<std::string> dump_roles(int pg_version, const Endpoint& source) override;
  Status run_sql_file(int pg_version, const Endpoint& target, const std::string& path) override;
  Status dump_schema(int pg_version, const Endpoint& source, const std::string& snapshot,
                     const std::string& file) override;
  Status dump_schema_plain(int pg_version, const Endpoint& source, const std::string& file) override;
  Status restore_schema(int pg_version, const Endpoint& target, const std::string& file,
                        Section section, int jobs, bool create, const Watch& watch) override;
  Status copy_data(int pg_version, const Endpoint& source, const std::string& snapshot,
                   const Endpoint& target, const std::vector<TableGroup>& groups,
                   const Watch& watch) override;
};

// What a failed tool said about its failure: its error lines (the tools
// write "pg_dump: error: ..." and "detail: ..."), else its last `keep` lines.
std::string tool_error_tail(const std::string& output, size_t keep = 4);

}  // namespace pgd
