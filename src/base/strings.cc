#include "base/strings.h"

namespace pgd {

std::string trim(std::string_view text) {
  constexpr std::string_view k_space = " \t\r\n";
  size_t first = text.find_first_not_of(k_space);
  if (first == std::string_view::npos) return "";
  size_t last = text.find_last_not_of(k_space);
  return std::string(text.substr(first, last - first + 1));
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace pgd
