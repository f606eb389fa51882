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

}  // namespace pgd
