#include "base/line_diff.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/strings.h"

namespace pgd {
namespace {

struct Edit {
  char op;  // ' ', '-', '+'
  std::string line;
};

// The edit script from a longest common subsequence of lines.
std::vector<Edit> edit_script(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<Edit> out;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      out.push_back({' ', a[i++]});
      ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push_back({'+', b[j++]});
    } else {
      out.push_back({'-', a[i++]});
    }
  }
  // Deletions before insertions inside a run of changes, as diff -u prints them.
  for (size_t k = 0; k + 1 < out.size(); ++k) {
    size_t end = k;
    while (end < out.size() && out[end].op != ' ') ++end;
    std::stable_partition(out.begin() + static_cast<std::ptrdiff_t>(k),
                          out.begin() + static_cast<std::ptrdiff_t>(end),
                          [](const Edit& e) { return e.op == '-'; });
    k = end;
  }
  return out;
}

std::string range(size_t start, size_t count) {
  // diff -u: a range of one line is just its number; an empty one names the line before it.
  if (count == 1) return std::to_string(start);
  return fmt::format("{},{}", count == 0 ? start - 1 : start, count);
}

}  // namespace

std::vector<std::string> unified_diff(const std::string& before, const std::string& after, int context) {
  std::vector<Edit> edits = edit_script(split_lines(before), split_lines(after));
  std::vector<std::string> out;
  size_t ctx = static_cast<size_t>(std::max(context, 0));
  size_t k = 0;
  // Line numbers (1-based) in each text of edit k.
  std::vector<size_t> a_line(edits.size() + 1), b_line(edits.size() + 1);
  a_line[0] = b_line[0] = 1;
  for (size_t e = 0; e < edits.size(); ++e) {
    a_line[e + 1] = a_line[e] + (edits[e].op != '+');
    b_line[e + 1] = b_line[e] + (edits[e].op != '-');
  }
  while (k < edits.size()) {
    if (edits[k].op == ' ') { ++k; continue; }
    size_t start = k > ctx ? k - ctx : 0, end = k;
    // Extend the hunk while the next change is within 2 * context lines.
    while (end < edits.size()) {
      if (edits[end].op != ' ') { ++end; continue; }
      size_t same = end;
      while (same < edits.size() && edits[same].op == ' ') ++same;
      if (same == edits.size() || same - end > 2 * ctx) { end = std::min(end + ctx, edits.size()); break; }
      end = same;
    }
    size_t a_count = 0, b_count = 0;
    for (size_t e = start; e < end; ++e) {
      a_count += edits[e].op != '+';
      b_count += edits[e].op != '-';
    }
    out.push_back(fmt::format("@@ -{} +{} @@", range(a_line[start], a_count), range(b_line[start], b_count)));
    for (size_t e = start; e < end; ++e) out.push_back(std::string(1, edits[e].op) + edits[e].line);
    k = end;
  }
  return out;
}

}  // namespace pgd
