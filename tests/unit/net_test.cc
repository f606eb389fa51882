// os::tcp_connections against this machine's kernel: it counts the
// connections a listener has, accepted or still queued, and forgets them once
// closed.
#include "os/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "os/unique_fd.h"

namespace pgd::os {
namespace {

UniqueFd listener(int& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(fd.get(), 8);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

UniqueFd connect_to(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

int count(int port) {
  auto counts = tcp_connections({port});
  EXPECT_TRUE(counts) << counts.error().message;
  return counts ? counts->at(port) : -1;
}

TEST(TcpConnections, CountsQueuedAndAcceptedConnectionsOfAPortUntilClosed) {
  int port = 0, other = 0;
  UniqueFd server = listener(port);
  UniqueFd unused = listener(other);
  EXPECT_EQ(count(port), 0) << "a listener alone is no connection";

  UniqueFd a = connect_to(port), b = connect_to(port);
  EXPECT_EQ(count(port), 2) << "both, though neither is accepted yet";
  EXPECT_EQ(count(other), 0);

  UniqueFd accepted_a(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  UniqueFd accepted_b(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_EQ(count(port), 2);

  // The server side closes first, so its half ends in TIME_WAIT, which is not counted.
  accepted_a.reset();
  accepted_b.reset();
  a.reset();
  b.reset();
  EXPECT_EQ(count(port), 0);
}

TEST(TcpConnections, NoPortsAsksNothing) {
  auto counts = tcp_connections({});
  ASSERT_TRUE(counts);
  EXPECT_TRUE(counts->empty());
}

}  // namespace
}  // namespace pgd::os
