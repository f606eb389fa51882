// os::Steering on this machine's kernel: a connection to a port nothing
// listens on reaches the socket it is steered to; unsteered, or after that
// socket closed, it is refused again; another address or port is untouched.
// Needs root (CAP_BPF, CAP_NET_ADMIN), as CI runs; the test says so and stops
// without it rather than pass.
#include "os/steering.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "os/unique_fd.h"

namespace pgd::os {
namespace {

UniqueFd listener_on(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd.get(), 8) != 0)
    return UniqueFd();
  return fd;
}

UniqueFd connect_to(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

// The local port of the connection `listener` accepts next, seen from its side.
int accepted_local_port(int listener) {
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(conn.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// Ports of the kind pgd allocates, high in the range so that no pgd here uses them.
constexpr int k_first = 27300;
constexpr int k_count = 100;

TEST(Steering, SteersLoopbackConnectionsToAListenerOnAnotherPort) {
  if (::geteuid() != 0) GTEST_SKIP() << "kernel steering needs root (CAP_BPF, CAP_NET_ADMIN)";
  auto steering = Steering::create(k_first, k_count);
  ASSERT_TRUE(steering) << steering.error().message;

  const int published = k_first + 7, private_port = k_first + 7 + 2000;
  UniqueFd server = listener_on(private_port);
  ASSERT_TRUE(server.valid());
  EXPECT_FALSE(connect_to(published).valid()) << "nothing listens on the published port yet";

  ASSERT_TRUE((*steering)->steer(published, ::getpid(), private_port));
  UniqueFd client = connect_to(published);
  ASSERT_TRUE(client.valid());
  EXPECT_EQ(accepted_local_port(server.get()), published) << "the server sees the address the client dialled";
  EXPECT_FALSE(connect_to(published + 1).valid()) << "a neighbouring port is not steered";

  (*steering)->unsteer(published);
  EXPECT_FALSE(connect_to(published).valid());

  ASSERT_TRUE((*steering)->steer(published, ::getpid(), private_port));
  ASSERT_TRUE(connect_to(published).valid());
  EXPECT_EQ(accepted_local_port(server.get()), published);
  server.reset();  // the server stops: the kernel forgets the entry
  EXPECT_FALSE(connect_to(published).valid());
}

TEST(Steering, AListenerOnThePublishedPortWinsWhenNotSteered) {
  if (::geteuid() != 0) GTEST_SKIP() << "kernel steering needs root (CAP_BPF, CAP_NET_ADMIN)";
  auto steering = Steering::create(k_first, k_count);
  ASSERT_TRUE(steering) << steering.error().message;
  const int published = k_first + 9, private_port = k_first + 9 + 2000;
  UniqueFd daemon = listener_on(published);
  UniqueFd server = listener_on(private_port);
  ASSERT_TRUE(daemon.valid() && server.valid());

  UniqueFd first = connect_to(published);
  ASSERT_TRUE(first.valid());
  EXPECT_EQ(accepted_local_port(daemon.get()), published);

  ASSERT_TRUE((*steering)->steer(published, ::getpid(), private_port));
  UniqueFd second = connect_to(published);
  ASSERT_TRUE(second.valid());
  EXPECT_EQ(accepted_local_port(server.get()), published) << "steered past the daemon's listener";
}

TEST(Steering, RefusesAPortOutsideItsRangeAndAProcessWithoutTheListener) {
  if (::geteuid() != 0) GTEST_SKIP() << "kernel steering needs root (CAP_BPF, CAP_NET_ADMIN)";
  auto steering = Steering::create(k_first, k_count);
  ASSERT_TRUE(steering) << steering.error().message;
  EXPECT_FALSE((*steering)->steer(k_first + k_count, ::getpid(), k_first + 2000));
  auto missing = (*steering)->steer(k_first + 3, ::getpid(), k_first + 3 + 2000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
}

}  // namespace
}  // namespace pgd::os
