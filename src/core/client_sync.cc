#include "core/client_sync.h"

#include <map>
#include <set>

#include "core/projects.h"
#include "core/secrets.h"
#include "core/tls.h"

namespace pgd {

Result<std::vector<ClientEntry>> client_entries(Context& ctx) {
  TRY_ASSIGN(auto branches, ctx.store.branches());
  std::map<std::string, std::string> passwords;
  std::set<std::string> taken;
  std::vector<ClientEntry> entries;
  for (const auto& b : branches) {
    std::string service = b.project + "-" + b.name;
    if (!taken.insert(service).second) continue;
    if (!passwords.count(b.project)) {
      TRY_ASSIGN(passwords[b.project], load_password(ctx.files, ctx.paths, b.project));
    }
    ClientEntry e{service, "127.0.0.1", b.port, "postgres", database_of(ctx, b.project),
                  passwords[b.project], "", ""};
    if (has_certificates(ctx.files, ctx.paths, b.project)) {
      e.sslmode = "verify-full";
      e.sslrootcert = ca_cert_path(ctx.paths, b.project);
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

Status sync_client_files(Context& ctx, const ClientFilePaths& paths, int lock_wait_ms) {
  if (paths.service_file.empty() && paths.pgpass_file.empty()) return {};
  // Each writer rewrites the files whole from the records: two at once could
  // leave the one that read the records first (and missed a branch) last.
  TRY(ctx.files.make_dirs(ctx.paths.home + "/locks", 0700));
  TRY_ASSIGN(auto lock, ctx.files.lock(ctx.paths.client_files_lock(), "the client files", lock_wait_ms));
  TRY_ASSIGN(auto entries, client_entries(ctx));
  return write_client_files(paths, ctx.paths.home, entries);
}

}  // namespace pgd
