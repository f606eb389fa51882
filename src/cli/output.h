// Everything pgd prints goes through Output: human tables by default, one JSON
// document with --json. Errors go to stderr (and, with --json, as {"error":…}).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace pgd::cli {

class Output {
 public:
  explicit Output(bool json) : m_json(json) {}
  bool json() const { return m_json; }
  // Human mode only.
  void line(const std::string& text) const;
  void table(const std::vector<std::string>& headers,
             const std::vector<std::vector<std::string>>& rows) const;
  // JSON mode only.
  void document(const nlohmann::json& doc) const;
  void error(const Error& error) const;

 private:
  bool m_json;
};

// Usage -> 2; everything else -> 1.
int exit_code(const Error& error);

// "187.3 ms" / "1.23 s"
std::string format_ms(double ms);

}  // namespace pgd::cli
