// Parsing and validating what users type: names, "project/branch", sizes.
// Pure functions; every error is ErrorKind::Usage (exit code 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace pgd {

// [a-z0-9][a-z0-9_-]{0,62}: safe in paths, SQL identifiers, service names and shells.
Status validate_name(const std::string& what, const std::string& name);

struct BranchRef {
  std::string project;
  std::string branch;
  std::string full() const { return project + "/" + branch; }
};

// "prod/dev" -> {prod, dev}. Both parts validated.
Result<BranchRef> parse_branch_ref(const std::string& text);

// parse_branch_ref of a name that may be absent: "" -> nullopt.
Result<std::optional<BranchRef>> parse_optional_branch_ref(const std::string& text);

// "20G", "512M", "1T", "1048576" (bytes) -> bytes; binary units.
Result<uint64_t> parse_size(const std::string& text);

// 1536 -> "1.5 KiB"
std::string format_bytes(uint64_t bytes);
// "45s", "5m", "1h", "3d", "2w" -> seconds (more than 0). Usage error otherwise.
Result<int64_t> parse_duration_s(const std::string& text);

}  // namespace pgd
