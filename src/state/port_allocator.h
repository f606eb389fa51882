// Choosing a port for a new branch: the lowest in range that no branch has
// recorded and that nothing else on the machine is listening on (nor on its
// private port).
#pragma once

#include <functional>
#include <optional>
#include <set>

namespace pgd {

// Below Linux's ephemeral range (32768-60999 by default): an outgoing connection
// never takes a stopped branch's port as its source port, which would make the
// branch's next start fail with "Address already in use".
inline constexpr int k_first_port = 25432;
inline constexpr int k_last_port = 27431;
// While `pgd serve` answers the published ports, a branch's server listens on
// 127.0.0.1 at its port plus this offset (27432-29431): a fixed place the
// daemon finds without asking, disjoint from every published port.
inline constexpr int k_private_port_offset = k_last_port - k_first_port + 1;
inline constexpr int private_port(int published) { return published + k_private_port_offset; }

std::optional<int> pick_port(const std::set<int>& recorded, const std::function<bool(int)>& is_free,
                             int first = k_first_port, int last = k_last_port);

}  // namespace pgd
