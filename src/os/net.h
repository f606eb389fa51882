// Network probes. Postgres only ever listens on 127.0.0.1, so that is all we probe.
#pragma once

namespace pgd::os {

// True when a TCP listener could bind 127.0.0.1:`port` right now.
bool tcp_port_free(int port);

}  // namespace pgd::os
