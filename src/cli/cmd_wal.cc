// pgd wal info|cleanup
#include <fmt/format.h>

#include "base/time_format.h"
#include "cli/commands.h"
#include "cli/views.h"
#include "core/branches.h"
#include "core/wal_ops.h"

namespace pgd::cli {
namespace {

struct WalOptions {
  std::string ref;
  int days = -1;
  bool dry_run = false;
};

std::string file_time(const std::optional<wal::ArchivedFile>& f) {
  return f ? format_iso8601_ms(f->mtime_s * 1'000'000) : "";
}

nlohmann::json info_json(const WalInfo& i) {
  nlohmann::json j = {{"branch", i.branch},
                      {"archive_dir", i.archive_dir},
                      {"files", i.files},
                      {"segments", i.segments},
                      {"bytes", i.bytes},
                      {"oldest_segment", i.oldest ? nlohmann::json(i.oldest->name) : nlohmann::json(nullptr)},
                      {"oldest_time", i.oldest ? nlohmann::json(file_time(i.oldest)) : nlohmann::json(nullptr)},
                      {"newest_segment", i.newest ? nlohmann::json(i.newest->name) : nlohmann::json(nullptr)},
                      {"newest_time", i.newest ? nlohmann::json(file_time(i.newest)) : nlohmann::json(nullptr)},
                      {"archiver", nullptr}};
  if (i.archiver)
    j["archiver"] = {{"archived_count", i.archiver->archived_count},
                     {"last_archived_wal", i.archiver->last_archived_wal},
                     {"last_archived_time", i.archiver->last_archived_time},
                     {"failed_count", i.archiver->failed_count},
                     {"last_failed_wal", i.archiver->last_failed_wal},
                     {"last_failed_time", i.archiver->last_failed_time}};
  return j;
}

Status run_info(const WalOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(std::optional<BranchRef> ref, parse_optional_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  std::vector<BranchRecord> branches;
  if (ref) {
    TRY_ASSIGN(BranchRecord b, require_branch(*ctx, *ref));
    branches.push_back(b);
  } else {
    TRY_ASSIGN(branches, ctx->store.branches());
  }
  nlohmann::json j = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  bool failing = false;
  for (const auto& b : branches) {
    TRY_ASSIGN(WalInfo info, wal_info(*ctx, b));
    j.push_back(info_json(info));
    std::string archiver = !info.archiver ? "(not running)"
                           : info.archiver->failed_count == 0
                               ? fmt::format("{} archived", info.archiver->archived_count)
                               : fmt::format("{} FAILED, last {} at {}", info.archiver->failed_count,
                                             info.archiver->last_failed_wal, info.archiver->last_failed_time);
    failing = failing || (info.archiver && info.archiver->failed_count > 0);
    rows.push_back({info.branch, std::to_string(info.segments), format_bytes(info.bytes),
                    info.oldest ? info.oldest->name : "-", file_time(info.oldest),
                    info.newest ? info.newest->name : "-", file_time(info.newest), archiver});
  }
  out.document(ref && j.size() == 1 ? j[0] : j);
  out.table({"BRANCH", "SEGMENTS", "SIZE", "OLDEST", "OLDEST TIME", "NEWEST", "NEWEST TIME", "ARCHIVER"}, rows);
  if (failing) out.line("\nThe archiver has failed: see the branch log (pgd branch get shows log_file).");
  return {};
}

Status run_cleanup(const WalOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(BranchRecord b, require_branch(*ctx, ref));
  TRY_ASSIGN(WalCleanup c, wal_cleanup(*ctx, b, int64_t{o.days} * 86400, o.dry_run ? DryRun::Yes : DryRun::No));
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : c.removed) files.push_back(f.name);
  out.document({{"branch", ref.full()},
                {"dry_run", o.dry_run},
                {o.dry_run ? "would_delete" : "deleted", files},
                {"bytes", c.bytes},
                {"kept_for_snapshot", c.kept_for_snapshot ? nlohmann::json(*c.kept_for_snapshot) : nlohmann::json(nullptr)}});
  out.line(fmt::format("{} {} archived WAL file(s) ({}) of {} older than {} day(s)",
                       o.dry_run ? "Would delete" : "Deleted", c.removed.size(), format_bytes(c.bytes),
                       ref.full(), o.days));
  for (const auto& f : c.removed) out.line("  " + f.name);
  if (c.kept_for_snapshot)
    out.line(fmt::format("Kept every segment that snapshot {} needs for recovery.", *c.kept_for_snapshot));
  return {};
}

}  // namespace

void add_wal_commands(CLI::App& app, Invocation& inv) {
  auto* group = add_group(app, "wal", "Inspect and clean up the WAL archives");
  auto o = std::make_shared<WalOptions>();
  add_leaf(group, inv, o, "info", "Archive size, oldest/newest segment, archiver health", run_info)
      ->add_option("name", o->ref, "branch as <project>/<branch> (default: all)");

  auto* cleanup = add_leaf(group, inv, o, "cleanup",
                           "Delete archived WAL older than --days that no snapshot needs", run_cleanup);
  add_branch_arg(cleanup, o->ref)->required();
  cleanup->add_option("--days", o->days, "age in days (0 or more)")->required()->check(CLI::NonNegativeNumber);
  cleanup->add_flag("--dry-run", o->dry_run, "only list what would be deleted");
}

}  // namespace pgd::cli
