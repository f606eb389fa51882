// Small string helpers that every layer uses, said once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgd {

// Without leading and trailing white space (spaces, tabs, newlines).
std::string trim(std::string_view text);
// The items with `separator` between them: join({"a", "b"}, ", ") == "a, b".
std::string join(const std::vector<std::string>& items, std::string_view separator);
// The lines of `text` without their "\n"; a last line without one counts,
// a trailing "\n" adds no empty line: "a\nb\n" -> {"a", "b"}.
std::vector<std::string> split_lines(std::string_view text);

}  // namespace pgd
