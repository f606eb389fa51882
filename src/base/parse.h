// Parsing numbers without exceptions: std::from_chars, whole text or nothing.
// (std::stoi and friends throw on bad input and accept trailing junk.)
#pragma once

#include <charconv>
#include <optional>
#include <string_view>

namespace pgd {

// The number `text` spells in `base`, or nullopt when it is empty, has any
// other character (a sign for an unsigned T included) or does not fit T.
template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace pgd
