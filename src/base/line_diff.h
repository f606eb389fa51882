// A unified diff of two short texts (one object's definition against
// another), line by line: what `diff -u` prints, without the file headers.
#pragma once

#include <string>
#include <vector>

namespace pgd {

// Hunks "@@ -a,b +c,d @@" and their lines, each starting with ' ', '-' or
// '+', with `context` unchanged lines around each change. Empty when the
// texts are equal. Quadratic in the number of lines: meant for definitions
// (hundreds of lines), not files.
std::vector<std::string> unified_diff(const std::string& before, const std::string& after, int context = 3);

}  // namespace pgd
