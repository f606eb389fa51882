#include "base/names.h"

#include <cctype>

#include <fmt/format.h>

#include "base/parse.h"

namespace pgd {
namespace {

// Shows a hostile name safely in a message: printable ASCII only.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += (c >= 0x20 && c < 0x7f) ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
  return out;
}

}  // namespace

Status validate_name(const std::string& what, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return fail(ErrorKind::Usage,
                fmt::format("invalid {} name '{}': {} (use 1-63 characters: lowercase letters, "
                            "digits, '-' and '_', starting with a letter or digit)",
                            what, printable(name), why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 63) return bad("longer than 63 characters");
  if (!std::islower(static_cast<unsigned char>(name[0])) && !std::isdigit(static_cast<unsigned char>(name[0])))
    return bad("must start with a lowercase letter or digit");
  for (unsigned char c : name) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '_') || c > 0x7f)
      return bad(fmt::format("character '{}' is not allowed", printable(std::string(1, char(c)))));
  }
  return {};
}

Result<BranchRef> parse_branch_ref(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos)
    return fail(ErrorKind::Usage,
                fmt::format("invalid branch '{}': expected <project>/<branch>, e.g. prod/dev",
                            printable(text)));
  BranchRef ref{text.substr(0, slash), text.substr(slash + 1)};
  TRY(validate_name("project", ref.project));
  TRY(validate_name("branch", ref.branch));
  return ref;
}

Result<std::optional<BranchRef>> parse_optional_branch_ref(const std::string& text) {
  if (text.empty()) return std::optional<BranchRef>{};
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(text));
  return std::optional<BranchRef>(ref);
}

Result<uint64_t> parse_size(const std::string& text) {
  auto bad = [&] {
    return fail(ErrorKind::Usage,
                fmt::format("invalid size '{}': use a number with K, M, G or T, e.g. 20G",
                            printable(text)));
  };
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return bad();
  size_t used = 0;
  while (used < text.size() && std::isdigit(static_cast<unsigned char>(text[used]))) ++used;
  auto parsed = parse_number<uint64_t>(std::string_view(text).substr(0, used));
  if (!parsed) return bad();
  uint64_t n = *parsed;
  std::string unit = text.substr(used);
  if (unit.size() == 2 && (unit[1] == 'B' || unit[1] == 'b') ) unit.pop_back();
  int shift = 0;
  if (unit.empty()) shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M" || unit == "m") shift = 20;
  else if (unit == "G" || unit == "g") shift = 30;
  else if (unit == "T" || unit == "t") shift = 40;
  else return bad();
  if (n == 0 || (shift && n > (UINT64_MAX >> shift))) return bad();
  return n << shift;
}

Result<int64_t> parse_duration_s(const std::string& text) {
  auto bad = [&] {
    return fail(ErrorKind::Usage,
                fmt::format("invalid duration '{}': use a number with s, m, h, d or w, e.g. 30m or 3d",
                            printable(text)));
  };
  if (text.size() < 2) return bad();
  auto n = parse_number<int64_t>(std::string_view(text).substr(0, text.size() - 1));
  int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return bad();
  }
  // At most ten years: anything longer is a typo, and the product stays far from overflow.
  if (!n || *n <= 0 || *n > 10 * 366 * 86400 / unit) return bad();
  return *n * unit;
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace pgd
