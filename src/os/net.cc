#include "os/net.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "os/unique_fd.h"

namespace pgd::os {

bool tcp_port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // Postgres sets SO_REUSEADDR too, so a port in TIME_WAIT is usable by it.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

namespace {

Status send_dump_request(int fd) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = ~((1U << TCP_LISTEN) | (1U << TCP_TIME_WAIT) | (1U << TCP_CLOSE));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return fail(fmt::format("asking the kernel for TCP connections: {}", std::strerror(errno)));
  return {};
}

}  // namespace

Result<std::map<int, int>> tcp_connections(const std::set<int>& ports) {
  std::map<int, int> counts;
  for (int port : ports) counts[port] = 0;
  if (ports.empty()) return counts;
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd.valid()) return fail(fmt::format("opening a sock_diag socket: {}", std::strerror(errno)));
  TRY(send_dump_request(fd.get()));
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    ssize_t got = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(fmt::format("reading TCP connections: {}", std::strerror(errno)));
    size_t left = static_cast<size_t>(got);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return counts;
      if (h->nlmsg_type == NLMSG_ERROR) return fail("reading TCP connections: the kernel refused the dump");
      const auto* msg = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      if (msg->id.idiag_src[0] != htonl(INADDR_LOOPBACK)) continue;
      auto it = counts.find(ntohs(msg->id.idiag_sport));
      if (it != counts.end()) ++it->second;
    }
  }
}

}  // namespace pgd::os
