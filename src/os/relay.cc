#include "os/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "os/unique_fd.h"

namespace pgd::os {
namespace {

constexpr size_t k_chunk = 64 * 1024;
constexpr int k_refuse_linger_ms = 2000;

using Clock = std::chrono::steady_clock;

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// What an epoll event's data points at.
enum class Kind { Listener, Client, Server, Wakeup, Signals, Control };

struct Handle {
  Kind kind;
  int port = 0;         // Listener: its port
  struct Conn* conn = nullptr;
};

enum class Phase { Held, Connecting, Relaying, Refusing };

struct Conn {
  ClientId id = 0;
  int port = 0;
  Phase phase = Phase::Held;
  UniqueFd client, server;
  Handle client_handle{Kind::Client}, server_handle{Kind::Server};
  std::string to_client, to_server;  // bytes read but not yet written
  bool dead = false;
  Clock::time_point refused_at;
  std::string error;  // a refused client's ErrorResponse
  bool error_sent = false;
};

}  // namespace

std::string pg_error_response(const std::string& sqlstate, const std::string& message) {
  std::string body;
  auto field = [&](char code, const std::string& value) {
    body += code;
    body += value;
    body += '\0';
  };
  field('S', "FATAL");
  field('V', "FATAL");
  field('C', sqlstate);
  field('M', message);
  body += '\0';
  uint32_t len = htonl(static_cast<uint32_t>(body.size() + 4));
  std::string out = "E";
  out.append(reinterpret_cast<const char*>(&len), 4);
  return out + body;
}

struct Relay::State {
  Events events;
  UniqueFd epoll, wakeup, signals;
  Handle wakeup_handle{Kind::Wakeup}, signals_handle{Kind::Signals}, control_handle{Kind::Control};
  UniqueFd control;
  std::string control_path;
  std::function<std::string(const std::string&)> control_handler;
  std::map<int, std::pair<UniqueFd, std::unique_ptr<Handle>>> listeners;
  std::map<ClientId, std::unique_ptr<Conn>> conns;
  std::map<int, size_t> per_port;
  // Freed after the current batch of events, which may still name them.
  std::vector<std::unique_ptr<Conn>> graveyard;
  std::vector<std::unique_ptr<Handle>> retired;
  ClientId next_id = 1;
  bool stopping = false;
  std::mutex posted_mutex;
  std::vector<std::function<void()>> posted;
  struct Timer {
    int ms;
    Clock::time_point due;
    std::function<void()> fn;
  };
  std::vector<Timer> timers;

  void watch(int fd, Handle* h, uint32_t events, int op = EPOLL_CTL_ADD) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    ::epoll_ctl(epoll.get(), op, fd, &ev);
  }
  void rewatch(int fd, Handle* h, uint32_t events) { watch(fd, h, events, EPOLL_CTL_MOD); }

  void close_conn(Conn& c) {
    if (c.dead) return;
    c.dead = true;
    if (--per_port[c.port] == 0) per_port.erase(c.port);
    int port = c.port;
    // Closing the fds also removes them from the epoll set.
    c.client.reset();
    c.server.reset();
    auto it = conns.find(c.id);
    graveyard.push_back(std::move(it->second));
    conns.erase(it);
    if (events.closed) events.closed(port);
  }

  void accept_all(int listen_fd, int port) {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a client gone before we got to it
      set_nodelay(fd);
      auto c = std::make_unique<Conn>();
      c->id = next_id++;
      c->port = port;
      c->client.reset(fd);
      c->client_handle.conn = c.get();
      c->server_handle.conn = c.get();
      // Held: its bytes stay unread, but a client that gives up is noticed.
      watch(fd, &c->client_handle, EPOLLRDHUP);
      ClientId id = c->id;
      ++per_port[port];
      conns[id] = std::move(c);
      if (events.accepted) events.accepted(port, id);
    }
  }

  // Writes as much of `pending` to `fd` as it takes; false on a dead socket.
  static bool flush(int fd, std::string& pending) {
    while (!pending.empty()) {
      ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      pending.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  // Interest of each side while relaying: a side with bytes waiting for it
  // wants to write; the other side is not read until they are gone.
  void update_interest(Conn& c) {
    constexpr uint32_t in = EPOLLIN, out = EPOLLOUT, none = 0;
    uint32_t client_ev = EPOLLRDHUP | (c.to_client.empty() ? none : out) | (c.to_server.empty() ? in : none);
    uint32_t server_ev = (c.to_server.empty() ? none : out) | (c.to_client.empty() ? in : none);
    rewatch(c.client.get(), &c.client_handle, client_ev);
    rewatch(c.server.get(), &c.server_handle, server_ev);
  }

  // Reads what `from` has and passes it to `to`; false when the pair ends.
  bool pump(int from, int to, std::string& pending_to) {
    char buf[k_chunk];
    ssize_t n = ::recv(from, buf, sizeof buf, 0);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    pending_to.append(buf, static_cast<size_t>(n));
    return flush(to, pending_to);
  }

  void on_relay_event(Conn& c, bool client_side, uint32_t ev) {
    if (c.phase == Phase::Connecting && !client_side) return finish_connect(c, ev);
    if (c.phase == Phase::Refusing) return drain_refused(c, ev);
    if (c.phase == Phase::Held) {  // only hang-ups are watched while held
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) close_conn(c);
      return;
    }
    int self = client_side ? c.client.get() : c.server.get();
    int other = client_side ? c.server.get() : c.client.get();
    std::string& to_other = client_side ? c.to_server : c.to_client;
    std::string& to_self = client_side ? c.to_client : c.to_server;
    bool was_blocked = !c.to_client.empty() || !c.to_server.empty();
    if ((ev & EPOLLOUT) && !flush(self, to_self)) return close_conn(c);
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (!pump(self, other, to_other)) {
        // The side closed: hand over what it said last, then end the pair.
        flush(other, to_other);
        return close_conn(c);
      }
    }
    bool blocked = !c.to_client.empty() || !c.to_server.empty();
    if (blocked || was_blocked) update_interest(c);
  }

  void finish_connect(Conn& c, uint32_t ev) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.server.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (ev & EPOLLERR)) {
      return refuse_conn(c, "57P03", fmt::format("pgd serve: the branch's server does not answer: {}",
                                                 std::strerror(err ? err : ECONNREFUSED)));
    }
    start_relaying(c);
  }

  void start_relaying(Conn& c) {
    c.phase = Phase::Relaying;
    rewatch(c.client.get(), &c.client_handle, EPOLLIN | EPOLLRDHUP);
    rewatch(c.server.get(), &c.server_handle, EPOLLIN);
  }

  void pass(Conn& c, int server_port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return refuse_conn(c, "53000", fmt::format("pgd serve: socket: {}", std::strerror(errno)));
    c.server.reset(fd);
    set_nodelay(fd);
    sockaddr_in addr = loopback(server_port);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc < 0 && errno != EINPROGRESS) {
      int err = errno;
      c.server.reset();
      return refuse_conn(c, "57P03", fmt::format("pgd serve: the branch's server does not answer: {}",
                                                 std::strerror(err)));
    }
    if (rc == 0) {
      watch(fd, &c.server_handle, EPOLLIN);
      return start_relaying(c);
    }
    c.phase = Phase::Connecting;
    watch(fd, &c.server_handle, EPOLLOUT);
  }

  // A refused client is answered the way PostgreSQL answers: an SSL or GSS
  // encryption request gets 'N' (libpq does not show an error sent in reply
  // to it), then the startup packet gets the ErrorResponse. Whatever else it
  // sends is read and dropped, so that closing does not reset the connection
  // before the error reaches it; it is closed on its EOF or after a while.
  void drain_refused(Conn& c, uint32_t) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c.client.get(), buf, sizeof buf, 0);
      if (n > 0) {
        if (!c.error_sent) c.to_server.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return close_conn(c);
    }
    answer_refused(c);
  }

  void answer_refused(Conn& c) {
    std::string& in = c.to_server;  // what the client sent, not yet answered
    while (!c.error_sent && in.size() >= 8) {
      uint32_t len, code;
      std::memcpy(&len, in.data(), 4);
      std::memcpy(&code, in.data() + 4, 4);
      len = ntohl(len);
      code = ntohl(code);
      constexpr uint32_t k_ssl_request = 80877103, k_gssenc_request = 80877104;
      if (len == 8 && (code == k_ssl_request || code == k_gssenc_request)) {
        in.erase(0, 8);
        std::string no = "N";
        if (!flush(c.client.get(), no)) return close_conn(c);
        continue;
      }
      if (in.size() < len) return;  // the rest of the startup packet is on its way
      in.clear();
      if (!flush(c.client.get(), c.error)) return close_conn(c);
      c.error_sent = true;
      ::shutdown(c.client.get(), SHUT_WR);
    }
  }

  void refuse_conn(Conn& c, const std::string& sqlstate, const std::string& message) {
    if (c.server.valid()) c.server.reset();
    c.phase = Phase::Refusing;
    c.refused_at = Clock::now();
    c.error = pg_error_response(sqlstate, message);
    c.to_server.clear();
    rewatch(c.client.get(), &c.client_handle, EPOLLIN | EPOLLRDHUP);
    drain_refused(c, 0);
  }

  void run_timers() {
    auto now = Clock::now();
    for (size_t i = 0; i < timers.size(); ++i) {
      if (timers[i].due > now) continue;
      timers[i].due = now + std::chrono::milliseconds(timers[i].ms);
      timers[i].fn();  // may add timers: index, not iterator
    }
    std::vector<Conn*> lingering;
    for (auto& [id, c] : conns)
      if (c->phase == Phase::Refusing && now - c->refused_at > std::chrono::milliseconds(k_refuse_linger_ms))
        lingering.push_back(c.get());
    for (Conn* c : lingering) close_conn(*c);
  }

  int next_timeout_ms() const {
    int wait = 1000;
    auto now = Clock::now();
    for (const auto& t : timers) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.due - now).count();
      wait = std::min<int>(wait, static_cast<int>(std::max<int64_t>(ms, 0)));
    }
    return wait;
  }

  void run_posted() {
    uint64_t count;
    while (::read(wakeup.get(), &count, sizeof count) > 0) {
    }
    std::vector<std::function<void()>> todo;
    {
      std::lock_guard<std::mutex> lock(posted_mutex);
      todo.swap(posted);
    }
    for (auto& fn : todo) fn();
  }

  void answer_control() {
    for (;;) {
      UniqueFd fd(::accept4(control.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd.valid()) return;
      // The client writes its line at once: a short blocking read is enough.
      timeval tv{0, 200'000};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      std::string line;
      char c;
      while (line.size() < 4096 && ::recv(fd.get(), &c, 1, 0) == 1 && c != '\n') line += c;
      std::string answer = control_handler(line) + "\n";
      ssize_t ignored = ::send(fd.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
      (void)ignored;  // a client that left does not want the answer
    }
  }

  void read_signals() {
    signalfd_siginfo info;
    while (::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      if (events.signalled) events.signalled(static_cast<int>(info.ssi_signo));
  }
};

Relay::Relay(std::unique_ptr<State> state) : m(std::move(state)) {}
Relay::~Relay() = default;

Result<std::unique_ptr<Relay>> Relay::create(Events events, const std::vector<int>& signals) {
  auto s = std::make_unique<State>();
  s->events = std::move(events);
  s->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
  s->wakeup.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : signals) sigaddset(&mask, sig);
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &mask, nullptr); rc != 0)
    return fail(fmt::format("block signals: {}", std::strerror(rc)));
  s->signals.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!s->epoll.valid() || !s->wakeup.valid() || !s->signals.valid())
    return fail(fmt::format("set up the event loop: {}", std::strerror(errno)));
  s->watch(s->wakeup.get(), &s->wakeup_handle, EPOLLIN);
  s->watch(s->signals.get(), &s->signals_handle, EPOLLIN);
  return std::unique_ptr<Relay>(new Relay(std::move(s)));
}

Status Relay::listen(int port) {
  if (m->listeners.count(port)) return {};
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(fmt::format("socket: {}", std::strerror(errno)));
  // As PostgreSQL does: a port left in TIME_WAIT by a closed connection can be
  // bound again; a port another socket listens on still cannot.
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    return fail(err == EADDRINUSE ? ErrorKind::Conflict : ErrorKind::Failure,
                fmt::format("listen on 127.0.0.1:{}: {}", port, std::strerror(err)));
  }
  if (::listen(fd.get(), 1024) < 0)
    return fail(fmt::format("listen on 127.0.0.1:{}: {}", port, std::strerror(errno)));
  auto handle = std::make_unique<Handle>(Handle{Kind::Listener, port, nullptr});
  m->watch(fd.get(), handle.get(), EPOLLIN);
  m->listeners[port] = {std::move(fd), std::move(handle)};
  return {};
}

void Relay::unlisten(int port) {
  auto it = m->listeners.find(port);
  if (it == m->listeners.end()) return;
  // An event of this batch may still name the handle: it lives until the batch ends.
  m->retired.push_back(std::move(it->second.second));
  m->listeners.erase(it);
}

bool Relay::listening(int port) const { return m->listeners.count(port) > 0; }

void Relay::pass(ClientId client, int server_port) {
  auto it = m->conns.find(client);
  if (it == m->conns.end() || it->second->phase != Phase::Held) return;
  m->pass(*it->second, server_port);
}

void Relay::refuse(ClientId client, const std::string& sqlstate, const std::string& message) {
  auto it = m->conns.find(client);
  if (it == m->conns.end() || it->second->phase != Phase::Held) return;
  m->refuse_conn(*it->second, sqlstate, message);
}

Status Relay::listen_control(const std::string& path,
                             std::function<std::string(const std::string&)> handler) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(fmt::format("control socket path too long: {}", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(fmt::format("socket: {}", std::strerror(errno)));
  ::unlink(path.c_str());  // left by a daemon that was killed
  mode_t old = ::umask(077);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc < 0 || ::listen(fd.get(), 64) < 0)
    return fail(fmt::format("listen on {}: {}", path, std::strerror(errno)));
  m->control = std::move(fd);
  m->control_path = path;
  m->control_handler = std::move(handler);
  m->watch(m->control.get(), &m->control_handle, EPOLLIN);
  return {};
}

Result<std::string> control_request(const std::string& path, const std::string& request, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(fmt::format("control socket path too long: {}", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(fmt::format("socket: {}", std::strerror(errno)));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return fail(ErrorKind::NotFound, fmt::format("{}: {}", path, std::strerror(errno)));
  std::string line = request + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    return fail(fmt::format("{}: send: {}", path, std::strerror(errno)));
  std::string answer;
  char c;
  for (;;) {
    ssize_t n = ::recv(fd.get(), &c, 1, 0);
    if (n == 1 && c != '\n') {
      answer += c;
      continue;
    }
    if (n == 1) return answer;
    return fail(fmt::format("{}: no answer: {}", path, n == 0 ? "connection closed" : std::strerror(errno)));
  }
}

size_t Relay::connections(int port) const {
  auto it = m->per_port.find(port);
  return it == m->per_port.end() ? 0 : it->second;
}

void Relay::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(m->posted_mutex);
    m->posted.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(m->wakeup.get(), &one, sizeof one);
  (void)ignored;  // the counter cannot overflow here; a wakeup already pending is enough
}

void Relay::every(int ms, std::function<void()> fn) {
  m->timers.push_back({ms, Clock::now() + std::chrono::milliseconds(ms), std::move(fn)});
}

void Relay::stop() {
  post([this] { m->stopping = true; });
}

Status Relay::run() {
  epoll_event events[256];
  while (!m->stopping) {
    int n = ::epoll_wait(m->epoll.get(), events, 256, m->next_timeout_ms());
    if (n < 0 && errno != EINTR) return fail(fmt::format("epoll_wait: {}", std::strerror(errno)));
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<Handle*>(events[i].data.ptr);
      switch (h->kind) {
        case Kind::Listener: {
          auto it = m->listeners.find(h->port);
          if (it != m->listeners.end() && it->second.second.get() == h)
            m->accept_all(it->second.first.get(), h->port);
          break;
        }
        case Kind::Client:
        case Kind::Server:
          if (!h->conn->dead) m->on_relay_event(*h->conn, h->kind == Kind::Client, events[i].events);
          break;
        case Kind::Wakeup: m->run_posted(); break;
        case Kind::Signals: m->read_signals(); break;
        case Kind::Control: m->answer_control(); break;
      }
    }
    m->run_timers();
    m->graveyard.clear();
    m->retired.clear();
  }
  std::vector<Conn*> open;
  for (auto& [id, c] : m->conns) open.push_back(c.get());
  for (Conn* c : open) m->close_conn(*c);
  m->graveyard.clear();
  m->listeners.clear();
  if (m->control.valid()) {
    ::unlink(m->control_path.c_str());
    m->control.reset();
  }
  return {};
}

}  // namespace pgd::os
