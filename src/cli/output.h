// Everything pgd prints goes through Output: human tables by default, one JSON
// document with --json. Errors go to stderr (and, with --json, as {"error":…}).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace pgd::cli {

// How output may look: decided once from flags, NO_COLOR and isatty.
struct OutputStyle {
  bool json = false;
  bool color = false;  // ANSI colours: a terminal, NO_COLOR unset, TERM not "dumb"
  bool live = false;   // phases were shown live on stderr (TerminalProgress)
};

class Output {
 public:
  explicit Output(bool json) : m_style{json} {}
  explicit Output(OutputStyle style) : m_style(style) {}
  bool json() const { return m_style.json; }
  bool live() const { return m_style.live; }
  // `text` in the ANSI colour `code` ("32" green) on a terminal; as is otherwise.
  std::string paint(const std::string& text, const char* code) const;
  // "running" in green, "failed" in red, "stopped" dim; plain without colour.
  std::string status(const std::string& status) const;
  // Human mode only.
  void line(const std::string& text) const;
  void table(const std::vector<std::string>& headers,
             const std::vector<std::vector<std::string>>& rows) const;
  // JSON mode only.
  void document(const nlohmann::json& doc) const;
  void error(const Error& error) const;

 private:
  OutputStyle m_style;
};

// Usage -> 2; everything else -> 1.
int exit_code(const Error& error);

// Decides the style for this process: colour and live progress on a terminal only.
OutputStyle detect_style(bool json);

// "187.3 ms" / "1.23 s"
std::string format_ms(double ms);

}  // namespace pgd::cli
