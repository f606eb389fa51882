// os::Relay over real loopback sockets: a held client is passed to a server
// and bytes flow both ways; a refused one reads PostgreSQL's ErrorResponse,
// after 'N' to its SSL request as the postmaster would answer.
#include "os/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "os/unique_fd.h"

namespace pgd::os {
namespace {

int bound_listener(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(fd, 8);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

int free_port() {
  int port = 0;
  UniqueFd fd(bound_listener(port));
  return port;
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_n(int fd, size_t n) {
  std::string out;
  char buf[256];
  while (out.size() < n) {
    ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

// A relay on its own thread, driven by the test through post().
struct Running {
  std::unique_ptr<Relay> relay;
  std::thread loop;
  std::vector<std::pair<int, ClientId>> accepted;
  std::mutex mu;
  explicit Running(int port) {
    Relay::Events events;
    events.accepted = [this](int p, ClientId id) {
      std::lock_guard<std::mutex> lock(mu);
      accepted.emplace_back(p, id);
    };
    relay = std::move(*Relay::create(events, {}));
    EXPECT_TRUE(relay->listen(port));
    loop = std::thread([this] { (void)relay->run(); });
  }
  ~Running() {
    relay->stop();
    loop.join();
  }
  ClientId wait_accepted() {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!accepted.empty()) return accepted.back().second;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return 0;
  }
};

TEST(Relay, HoldsAClientUntilPassedThenRelaysBothWays) {
  int server_port = 0;
  UniqueFd server(bound_listener(server_port));
  int port = free_port();
  Running r(port);
  UniqueFd client(connect_to(port));
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(::send(client.get(), "hello", 5, 0), 5);  // waits, unread, while held
  ClientId id = r.wait_accepted();
  ASSERT_NE(id, 0u);
  r.relay->post([&] { r.relay->pass(id, server_port); });
  UniqueFd upstream(::accept(server.get(), nullptr, nullptr));
  EXPECT_EQ(read_n(upstream.get(), 5), "hello");
  std::string big(300'000, 'x');  // more than one read and a socket buffer
  std::thread writer([&] { ::send(upstream.get(), big.data(), big.size(), 0); });
  EXPECT_EQ(read_n(client.get(), big.size()), big);
  writer.join();
  upstream.reset();  // the server closes: so does the client's side
  char c;
  EXPECT_EQ(::recv(client.get(), &c, 1, 0), 0);
}

TEST(Relay, RefusesLikeThePostmasterNoToSslThenTheError) {
  int port = free_port();
  Running r(port);
  UniqueFd client(connect_to(port));
  ASSERT_TRUE(client.valid());
  unsigned char ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};  // 80877103
  ASSERT_EQ(::send(client.get(), ssl_request, 8, 0), 8);
  ClientId id = r.wait_accepted();
  r.relay->post([&] { r.relay->refuse(id, "57P03", "pgd serve: could not wake p/b"); });
  EXPECT_EQ(read_n(client.get(), 1), "N");
  unsigned char startup[8] = {0, 0, 0, 8, 0, 3, 0, 0};  // protocol 3.0, no parameters
  ASSERT_EQ(::send(client.get(), startup, 8, 0), 8);
  std::string want = pg_error_response("57P03", "pgd serve: could not wake p/b");
  EXPECT_EQ(read_n(client.get(), want.size()), want);
  EXPECT_EQ(want.substr(0, 1), "E");
  EXPECT_NE(want.find(std::string("C57P03\0", 7)), std::string::npos);
}

TEST(Relay, ListenOnATakenPortIsAConflict) {
  int port = 0;
  UniqueFd taken(bound_listener(port));
  auto relay = Relay::create({}, {});
  ASSERT_TRUE(relay);
  auto st = (*relay)->listen(port);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, ErrorKind::Conflict);
}

}  // namespace
}  // namespace pgd::os
