#include "os/steering.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "os/unique_fd.h"

namespace pgd::os {
namespace {

long sys_bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

// The program, assembled here rather than compiled from C: it is 28
// instructions, and a BPF toolchain (clang, libbpf) is a heavy dependency for
// that. Jumps are patched to the label "pass" at the end.
class Assembler {
 public:
  void mov_reg(int dst, int src) { emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
  void mov_imm(int dst, int32_t imm) { emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
  void add_imm(int dst, int32_t imm) { emit(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
  void sub_imm(int dst, int32_t imm) { emit(BPF_ALU64 | BPF_SUB | BPF_K, dst, 0, 0, imm); }
  void load_u32(int dst, int src, int16_t off) { emit(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
  void store_u32(int dst, int16_t off, int src) { emit(BPF_STX | BPF_MEM | BPF_W, dst, src, off, 0); }
  void load_map_fd(int dst, int fd) {
    emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
    emit(0, 0, 0, 0, 0);  // the upper half of the 64-bit immediate
  }
  void call(int helper) { emit(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
  void exit() { emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
  // Jumps to "pass" when `reg op imm` (BPF_JNE, BPF_JGE (unsigned), BPF_JEQ).
  void jump_to_pass_if(int op, int reg, int32_t imm) {
    m_to_pass.push_back(m_code.size());
    emit(BPF_JMP | op | BPF_K, reg, 0, 0, imm);
  }
  void label_pass() {
    for (size_t at : m_to_pass) m_code[at].off = static_cast<int16_t>(m_code.size() - at - 1);
  }
  const std::vector<bpf_insn>& code() const { return m_code; }

 private:
  void emit(uint8_t code, int dst, int src, int16_t off, int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = static_cast<uint8_t>(dst) & 0xf;
    insn.src_reg = static_cast<uint8_t>(src) & 0xf;
    insn.off = off;
    insn.imm = imm;
    m_code.push_back(insn);
  }
  std::vector<bpf_insn> m_code;
  std::vector<size_t> m_to_pass;
};

#define CTX(field) static_cast<int16_t>(offsetof(bpf_sk_lookup, field))

// For a TCP connection to 127.0.0.1:port with first <= port < first + count:
// the socket at map[port - first], if any, takes it. Every other lookup (and
// one whose assignment fails) goes on as if the program were not there.
std::vector<bpf_insn> program(int map_fd, int first_port, int count) {
  Assembler a;
  a.mov_reg(BPF_REG_6, BPF_REG_1);  // the lookup's context
  a.load_u32(BPF_REG_2, BPF_REG_6, CTX(family));
  a.jump_to_pass_if(BPF_JNE, BPF_REG_2, AF_INET);
  a.load_u32(BPF_REG_2, BPF_REG_6, CTX(protocol));
  a.jump_to_pass_if(BPF_JNE, BPF_REG_2, IPPROTO_TCP);
  // Only loopback: the servers listen there alone, and a connection to another
  // address must not reach them through this program.
  a.load_u32(BPF_REG_2, BPF_REG_6, CTX(local_ip4));
  a.jump_to_pass_if(BPF_JNE, BPF_REG_2, static_cast<int32_t>(htonl(INADDR_LOOPBACK)));
  a.load_u32(BPF_REG_2, BPF_REG_6, CTX(local_port));
  a.sub_imm(BPF_REG_2, first_port);
  a.jump_to_pass_if(BPF_JGE, BPF_REG_2, count);  // unsigned: below first_port wraps high
  a.store_u32(BPF_REG_10, -4, BPF_REG_2);
  a.load_map_fd(BPF_REG_1, map_fd);
  a.mov_reg(BPF_REG_2, BPF_REG_10);
  a.add_imm(BPF_REG_2, -4);
  a.call(BPF_FUNC_map_lookup_elem);
  a.jump_to_pass_if(BPF_JEQ, BPF_REG_0, 0);
  a.mov_reg(BPF_REG_7, BPF_REG_0);  // a counted reference to the socket
  a.mov_reg(BPF_REG_1, BPF_REG_6);
  a.mov_reg(BPF_REG_2, BPF_REG_7);
  a.mov_imm(BPF_REG_3, 0);
  a.call(BPF_FUNC_sk_assign);
  a.mov_reg(BPF_REG_1, BPF_REG_7);
  a.call(BPF_FUNC_sk_release);
  a.label_pass();
  a.mov_imm(BPF_REG_0, SK_PASS);
  a.exit();
  return a.code();
}

#undef CTX

Result<UniqueFd> create_map(int count) {
  bpf_attr attr{};
  attr.map_type = BPF_MAP_TYPE_SOCKMAP;
  attr.key_size = sizeof(uint32_t);
  attr.value_size = sizeof(uint32_t);
  attr.max_entries = static_cast<uint32_t>(count);
  std::strncpy(attr.map_name, "pgd_serve", sizeof attr.map_name - 1);
  long fd = sys_bpf(BPF_MAP_CREATE, attr);
  if (fd < 0) return fail(fmt::format("creating a BPF socket map: {}", std::strerror(errno)));
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> load_program(int map_fd, int first_port, int count) {
  std::vector<bpf_insn> code = program(map_fd, first_port, count);
  std::string log(16 * 1024, '\0');
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
  attr.expected_attach_type = BPF_SK_LOOKUP;
  attr.insns = reinterpret_cast<uint64_t>(code.data());
  attr.insn_cnt = static_cast<uint32_t>(code.size());
  static const char license[] = "Dual MIT/GPL";
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  std::strncpy(attr.prog_name, "pgd_steer", sizeof attr.prog_name - 1);
  long fd = sys_bpf(BPF_PROG_LOAD, attr);
  if (fd < 0) {
    int err = errno;
    log.resize(std::strlen(log.c_str()));
    return fail(fmt::format("loading the BPF sk_lookup program: {}{}", std::strerror(err),
                            log.empty() ? "" : " (verifier: " + log.substr(0, 400) + ")"));
  }
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> attach(int prog_fd) {
  UniqueFd netns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!netns.valid()) return fail(fmt::format("opening /proc/self/ns/net: {}", std::strerror(errno)));
  bpf_attr attr{};
  attr.link_create.prog_fd = static_cast<uint32_t>(prog_fd);
  attr.link_create.target_fd = static_cast<uint32_t>(netns.get());
  attr.link_create.attach_type = BPF_SK_LOOKUP;
  long fd = sys_bpf(BPF_LINK_CREATE, attr);
  if (fd < 0) return fail(fmt::format("attaching the BPF sk_lookup program: {}", std::strerror(errno)));
  return UniqueFd(static_cast<int>(fd));
}

bool is_listener_on(int fd, int port) {
  int listening = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) return false;
  sockaddr_in addr{};
  len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  return addr.sin_family == AF_INET && addr.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
         ntohs(addr.sin_port) == port;
}

// A copy of the socket process `pid` listens with on 127.0.0.1:`port`, taken
// with pidfd_getfd (the listener is the server's; we cannot open our own).
Result<UniqueFd> listener_of(pid_t pid, int port) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return fail(fmt::format("pidfd_open {}: {}", pid, std::strerror(errno)));
  std::string dir = fmt::format("/proc/{}/fd", pid);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return fail(fmt::format("reading {}: {}", dir, std::strerror(errno)));
  std::vector<int> sockets;
  while (dirent* entry = ::readdir(d)) {
    char target[64] = {};
    std::string link = dir + "/" + entry->d_name;
    if (::readlink(link.c_str(), target, sizeof target - 1) > 0 && std::strncmp(target, "socket:", 7) == 0)
      sockets.push_back(std::atoi(entry->d_name));
  }
  ::closedir(d);
  int last_errno = 0;
  for (int target : sockets) {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), target, 0)));
    if (!fd.valid()) {
      last_errno = errno;
      continue;
    }
    if (is_listener_on(fd.get(), port)) return fd;
  }
  if (last_errno)
    return fail(fmt::format("taking the listening socket of pid {}: {}", pid, std::strerror(last_errno)));
  return fail(ErrorKind::NotFound, fmt::format("pid {} does not listen on 127.0.0.1:{}", pid, port));
}

}  // namespace

Result<std::unique_ptr<Steering>> Steering::create(int first_port, int count) {
  TRY_ASSIGN(UniqueFd map, create_map(count));
  TRY_ASSIGN(UniqueFd prog, load_program(map.get(), first_port, count));
  TRY_ASSIGN(UniqueFd link, attach(prog.get()));
  auto* s = new Steering(first_port, count, map.get(), prog.get(), link.get());
  // Owned by the Steering from here.
  (void)map.release();
  (void)prog.release();
  (void)link.release();
  return std::unique_ptr<Steering>(s);
}

Steering::Steering(int first_port, int count, int map_fd, int prog_fd, int link_fd)
    : m_first_port(first_port), m_count(count), m_map_fd(map_fd), m_prog_fd(prog_fd), m_link_fd(link_fd) {}

Steering::~Steering() {
  ::close(m_link_fd);  // detaches the program
  ::close(m_prog_fd);
  ::close(m_map_fd);
}

Status Steering::steer(int port, pid_t pid, int target_port) {
  if (port < m_first_port || port >= m_first_port + m_count)
    return fail(fmt::format("port {} is outside the steered range", port));
  TRY_ASSIGN(UniqueFd listener, listener_of(pid, target_port));
  uint32_t key = static_cast<uint32_t>(port - m_first_port);
  uint32_t value = static_cast<uint32_t>(listener.get());
  bpf_attr attr{};
  attr.map_fd = static_cast<uint32_t>(m_map_fd);
  attr.key = reinterpret_cast<uint64_t>(&key);
  attr.value = reinterpret_cast<uint64_t>(&value);
  attr.flags = BPF_ANY;
  if (sys_bpf(BPF_MAP_UPDATE_ELEM, attr) != 0)
    return fail(fmt::format("steering port {} to pid {}: {}", port, pid, std::strerror(errno)));
  return {};  // the map holds the socket; our copy of it closes here
}

void Steering::unsteer(int port) {
  if (port < m_first_port || port >= m_first_port + m_count) return;
  uint32_t key = static_cast<uint32_t>(port - m_first_port);
  bpf_attr attr{};
  attr.map_fd = static_cast<uint32_t>(m_map_fd);
  attr.key = reinterpret_cast<uint64_t>(&key);
  sys_bpf(BPF_MAP_DELETE_ELEM, attr);  // ENOENT: not steered (or its server closed the socket)
}

}  // namespace pgd::os
