// NativePostgres::create_certificates: a per-project CA and server certificate
// made with the openssl command line (no key ever passes through argv: openssl
// writes each key straight to a file in a private work directory).
#include <unistd.h>

#include <fmt/format.h>

#include "base/scope_guard.h"
#include "os/fs.h"
#include "postgres/native_postgres.h"

namespace pgd {
namespace {

constexpr const char* k_days = "3650";
// P-256 keys: generated in milliseconds, unlike RSA, and supported by every libpq.
constexpr const char* k_curve = "ec_paramgen_curve:prime256v1";

Status openssl(const std::vector<std::string>& args, const std::string& work) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  os::RunOptions options;
  options.cwd = work;
  auto r = os::run_checked(argv, options);
  if (!r) return fail(r.error().wrap("make TLS certificates (is openssl installed? apt-get install openssl)"));
  return {};
}

}  // namespace

Status NativePostgres::create_certificates(const std::string& dir, const std::string& subject) {
  std::string work = fmt::format("{}/tls.{}", m_tmp_dir, ::getpid());
  TRY(os::make_dirs(m_tmp_dir, 0711));
  TRY(os::remove_tree(work));
  TRY(os::make_dirs(work, 0700));
  // The CA key lives only here: nobody can sign another certificate for this
  // project. On success it is removed below, checked; on a failure path a
  // leftover is private (0700, pgd's own user) and the next try removes it first.
  ScopeGuard remove_work([&] { ignore_error(os::remove_tree(work), "private; removed on the next try"); });
  TRY(os::write_file_atomic(work + "/server.ext",
                            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                            "basicConstraints=critical,CA:FALSE\n"
                            "keyUsage=critical,digitalSignature,keyEncipherment\n"
                            "extendedKeyUsage=serverAuth\n",
                            0600));
  TRY(openssl({"req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", k_curve, "-nodes", "-keyout",
               "ca.key", "-out", "ca.crt", "-days", k_days, "-subj", "/O=pgd project CA/CN=" + subject,
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"},
              work));
  TRY(openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", k_curve, "-nodes", "-keyout",
               "server.key", "-out", "server.csr", "-subj", "/O=pgd/CN=127.0.0.1"},
              work));
  TRY(openssl({"x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
               "-CAcreateserial", "-out", "server.crt", "-days", k_days, "-extfile", "server.ext"},
              work));
  TRY(os::make_dirs(dir, 0755));
  TRY_ASSIGN(std::string key, os::read_file(work + "/server.key"));
  TRY_ASSIGN(std::string cert, os::read_file(work + "/server.crt"));
  TRY_ASSIGN(std::string ca, os::read_file(work + "/ca.crt"));
  // Postgres refuses a key file that others can read: 0600, owned by the server's user.
  TRY(os::write_file_atomic(dir + "/server.key", key, 0600, owner()));
  TRY(os::write_file_atomic(dir + "/server.crt", cert, 0644, owner()));
  TRY(os::write_file_atomic(dir + "/ca.crt", ca, 0644));
  remove_work.dismiss();
  return os::remove_tree(work);
}

}  // namespace pgd
