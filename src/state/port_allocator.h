// Choosing a port for a new branch: the lowest in range that no branch has
// recorded and that nothing else on the machine is listening on.
#pragma once

#include <functional>
#include <optional>
#include <set>

namespace pgd {

// Below Linux's ephemeral range (32768-60999 by default): an outgoing connection
// never takes a stopped branch's port as its source port, which would make the
// branch's next start fail with "Address already in use".
inline constexpr int k_first_port = 25432;
inline constexpr int k_last_port = 26431;

std::optional<int> pick_port(const std::set<int>& recorded, const std::function<bool(int)>& is_free,
                             int first = k_first_port, int last = k_last_port);

}  // namespace pgd
