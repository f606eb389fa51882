#include "core/secrets.h"

#include <fmt/format.h>

#include "os/random.h"


namespace pgd {

Result<std::string> generate_password() {
  static const char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  auto bytes = os::random_bytes(32);
  if (!bytes) return fail(bytes.error().wrap("generate password"));
  std::string out;
  // 62 symbols: the modulo bias (256 % 62) costs < 0.1 bit of 190; fine for a password.
  for (unsigned char b : *bytes) out += k_alphabet[b % 62];
  return out;
}

Status save_password(os::Files& files, const Paths& paths, const std::string& project, const std::string& password) {
  TRY(files.make_dirs(paths.secrets_dir(), 0700));
  return files.write_atomic(paths.password_file(project), password + "\n", 0600);
}

Result<std::string> load_password(os::Files& files, const Paths& paths, const std::string& project) {
  auto content = files.read(paths.password_file(project));
  if (!content)
    return fail(fmt::format("project '{}': password file {} is missing; run 'pgd doctor'", project,
                            paths.password_file(project)));
  std::string pw = *content;
  while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
  return pw;
}

Status remove_password(os::Files& files, const Paths& paths, const std::string& project) {
  TRY(files.remove_file(paths.verifier_file(project)));
  return files.remove_file(paths.password_file(project));
}

}  // namespace pgd
