#include "core/tls.h"


namespace pgd {

std::string ca_cert_path(const Paths& paths, const std::string& project) {
  return paths.tls_dir(project) + "/ca.crt";
}

bool has_certificates(os::Files& files, const Paths& paths, const std::string& project) {
  const std::string dir = paths.tls_dir(project);
  return files.exists(dir + "/server.key") && files.exists(dir + "/server.crt") &&
         files.exists(dir + "/ca.crt");
}

Status ensure_certificates(Context& ctx, const std::string& project) {
  if (has_certificates(ctx.files, ctx.paths, project)) return {};
  Status st = ctx.postgres.create_certificates(ctx.paths.tls_dir(project), project);
  if (!st) return fail(st.error().wrap("project '" + project + "'"));
  return {};
}

std::vector<std::pair<std::string, std::string>> tls_settings(os::Files& files, const Paths& paths,
                                                              const std::string& project) {
  if (!has_certificates(files, paths, project)) return {};
  const std::string dir = paths.tls_dir(project);
  return {{"ssl", "on"}, {"ssl_cert_file", dir + "/server.crt"}, {"ssl_key_file", dir + "/server.key"}};
}

}  // namespace pgd
