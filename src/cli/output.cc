#include "cli/output.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "os/interrupts.h"
#include "os/process.h"

namespace pgd::cli {
namespace {

// Display width: UTF-8 code points, not bytes (tree glyphs are 3 bytes), and
// ANSI colour sequences ("\033[32m") count for nothing.
size_t width(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\033') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

void Output::line(const std::string& text) const {
  if (!m_style.json) fmt::print("{}\n", text);
}

void Output::table(const std::vector<std::string>& headers,
                   const std::vector<std::vector<std::string>>& rows) const {
  if (m_style.json) return;
  std::vector<size_t> widths(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) widths[i] = width(headers[i]);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], width(row[i]));
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - width(row[i]) + 2, ' ');
    }
    fmt::print("{}\n", out);
  };
  print_row(headers);
  for (const auto& row : rows) print_row(row);
}

void Output::document(const nlohmann::json& doc) const {
  if (m_style.json) fmt::print("{}\n", doc.dump(2));
}

void Output::error(const Error& error) const {
  fmt::print(stderr, "pgd: error: {}\n", error.message);
  if (m_style.json) fmt::print("{}\n", nlohmann::json{{"error", error.message}, {"exit_code", exit_code(error)}}.dump(2));
}

std::string Output::status(const std::string& status) const {
  return paint(status, status == "running" ? "32" : status == "failed" ? "31;1" : status == "stopped" ? "2" : "33");
}

std::string Output::paint(const std::string& text, const char* code) const {
  if (!m_style.color) return text;
  return fmt::format("\033[{}m{}\033[0m", code, text);
}

OutputStyle detect_style(bool json) {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  bool dumb = term && std::string(term) == "dumb";
  OutputStyle style{json};
  style.color = !json && os::is_terminal(1) && !(no_color && *no_color) && !dumb;
  style.live = !json && os::is_terminal(2) && !dumb;
  return style;
}

int exit_code(const Error& error) {
  // Interrupted, whatever failed as a result (a child killed by the same Ctrl-C): 128 + signal.
  if (int s = os::received_signal()) return 128 + s;
  return error.kind == ErrorKind::Usage ? 2 : 1;
}

std::string format_ms(double ms) {
  return ms < 1000 ? fmt::format("{:.1f} ms", ms) : fmt::format("{:.2f} s", ms / 1000);
}

}  // namespace pgd::cli
