#include "clients/client_files.h"

#include <cstdlib>

#include <fmt/format.h>

#include "os/fs.h"

namespace pgd {
namespace {

std::string escape_pgpass(const std::string& field) {
  std::string out;
  for (char c : field) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string wrap(const std::string& body) {
  if (body.empty()) return "";
  return fmt::format("{}\n{}{}\n", k_block_begin, body, k_block_end);
}

// Rewrites one file when its block is not already `block`.
Status sync_file(const std::string& path, const std::string& block) {
  if (path.empty()) return {};
  std::string existing;
  if (os::exists(path)) {
    TRY_ASSIGN(existing, os::read_file(path));
  } else if (block.empty()) {
    return {};
  }
  std::string wanted = replace_block(existing, block);
  if (wanted == existing) return {};
  // Nothing left but pgd's old block: the file was pgd's alone; leave no empty file.
  if (wanted.empty()) return os::remove_file(path);
  Status st = os::write_file_atomic(path, wanted, 0600);
  if (!st) return fail(st.error().wrap("update client file " + path));
  return {};
}

}  // namespace

std::string render_service_block(const std::vector<ClientEntry>& entries) {
  std::string body;
  for (const auto& e : entries) {
    body += fmt::format("[{}]\nhost={}\nport={}\nuser={}\ndbname={}\n", e.service, e.host, e.port,
                        e.user, e.database);
    if (!e.sslmode.empty()) body += fmt::format("sslmode={}\n", e.sslmode);
    if (!e.sslrootcert.empty()) body += fmt::format("sslrootcert={}\n", e.sslrootcert);
    body += "gssencmode=disable\n";  // no Kerberos on 127.0.0.1: skip libpq's GSSAPI probe
    body += "\n";
  }
  return wrap(body);
}

std::string render_pgpass_block(const std::vector<ClientEntry>& entries) {
  std::string body;
  for (const auto& e : entries)
    body += fmt::format("{}:{}:*:{}:{}\n", escape_pgpass(e.host), e.port, escape_pgpass(e.user),
                        escape_pgpass(e.password));
  return wrap(body);
}

std::string replace_block(const std::string& existing, const std::string& block) {
  size_t begin = existing.find(k_block_begin);
  size_t end = begin == std::string::npos ? std::string::npos : existing.find(k_block_end, begin);
  // A new block goes first: libpq uses the first matching pgpass line, and a
  // user's wildcard entry must not shadow a branch's password.
  if (end == std::string::npos) return block + existing;
  size_t line_end = existing.find('\n', end);
  std::string after = line_end == std::string::npos ? "" : existing.substr(line_end + 1);
  return existing.substr(0, begin) + block + after;
}

ClientFilePaths client_file_paths_from_environment() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  if (env("PGD_CLIENT_FILES") == "off") return {};
  std::string home = env("HOME");
  ClientFilePaths p{env("PGSERVICEFILE"), env("PGPASSFILE")};
  if (p.service_file.empty() && !home.empty()) p.service_file = home + "/.pg_service.conf";
  if (p.pgpass_file.empty() && !home.empty()) p.pgpass_file = home + "/.pgpass";
  return p;
}

Status write_client_files(const ClientFilePaths& paths, const std::vector<ClientEntry>& entries) {
  TRY(sync_file(paths.service_file, render_service_block(entries)));
  return sync_file(paths.pgpass_file, render_pgpass_block(entries));
}

}  // namespace pgd
