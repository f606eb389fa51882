// Choosing a port for a new branch: the lowest in range that no branch has
// recorded and that nothing else on the machine is listening on.
#pragma once

#include <functional>
#include <optional>
#include <set>

namespace pgd {

inline constexpr int k_first_port = 54320;
inline constexpr int k_last_port = 54999;

std::optional<int> pick_port(const std::set<int>& recorded, const std::function<bool(int)>& is_free,
                             int first = k_first_port, int last = k_last_port);

}  // namespace pgd
