#include "postgres/schema_dump.h"

#include <map>
#include <optional>

#include "base/strings.h"

namespace pgd::pg {
namespace {

// "-- Name: a b; Type: FK CONSTRAINT; Schema: public; Owner: app" split at
// its last separators, so a name holding "; " still parses.
std::optional<SchemaObject> parse_header(const std::string& line) {
  static const std::string prefix = "-- Name: ";
  if (!line.starts_with(prefix)) return std::nullopt;
  size_t owner = line.rfind("; Owner: ");
  if (owner == std::string::npos) return std::nullopt;
  size_t schema = line.rfind("; Schema: ", owner);
  if (schema == std::string::npos) return std::nullopt;
  size_t type = line.rfind("; Type: ", schema);
  if (type == std::string::npos || type < prefix.size()) return std::nullopt;
  SchemaObject o;
  o.name = line.substr(prefix.size(), type - prefix.size());
  o.kind = line.substr(type + 8, schema - type - 8);
  o.schema = line.substr(schema + 10, owner - schema - 10);
  o.owner = line.substr(owner + 9);
  return o;
}

std::string trim_blank_lines(const std::vector<std::string>& lines) {
  size_t first = 0, last = lines.size();
  while (first < last && trim(lines[first]).empty()) ++first;
  while (last > first && (trim(lines[last - 1]).empty() || lines[last - 1] == "--")) --last;
  std::string out;
  for (size_t i = first; i < last; ++i) out += lines[i] + "\n";
  return out;
}

// Lines pg_dump writes with a random key each run (PostgreSQL 15.14 on).
bool varies_between_runs(const std::string& line) {
  return line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ");
}

}  // namespace

std::vector<SchemaObject> parse_schema_dump(const std::string& text) {
  std::vector<std::string> lines = split_lines(text);
  std::vector<SchemaObject> objects;
  std::vector<std::string> body;
  auto close = [&] {
    if (!objects.empty()) objects.back().definition = trim_blank_lines(body);
    body.clear();
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    auto header = parse_header(line);
    // A header sits between two "--" lines; the first belongs to no body.
    if (header && i > 0 && lines[i - 1] == "--") {
      if (!body.empty() && body.back() == "--") body.pop_back();
      close();
      objects.push_back(*header);
      if (i + 1 < lines.size() && lines[i + 1] == "--") ++i;
      continue;
    }
    if (line.starts_with("-- PostgreSQL database dump complete")) break;
    if (varies_between_runs(line)) continue;
    body.push_back(line);
  }
  close();
  std::map<std::string, int> seen;
  for (auto& o : objects) {
    int n = ++seen[o.key()];
    if (n > 1) o.name += " #" + std::to_string(n);
  }
  return objects;
}

}  // namespace pgd::pg
