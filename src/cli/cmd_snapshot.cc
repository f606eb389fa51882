// pgd snapshot create|list|delete|cleanup
#include <fmt/format.h>

#include "base/time_format.h"
#include "cli/commands.h"
#include "cli/views.h"
#include "core/snapshots.h"

namespace pgd::cli {
namespace {

struct SnapshotOptions {
  std::string ref, label, id;
  int days = -1;
  std::string max_replay = "1G";
  bool all = false, dry_run = false;
  CLI::Option* label_option = nullptr;  // given at all? (--label "" is an invalid label)
};

nlohmann::json snapshot_json(const SnapshotRecord& s) {
  return {{"id", s.id},
          {"branch", s.branch_name()},
          {"label", s.label ? nlohmann::json(*s.label) : nlohmann::json(nullptr)},
          {"created_at", format_iso8601_ms(s.created_us)},
          {"lsn", s.lsn},
          {"redo_lsn", s.redo_lsn},
          {"size_bytes", s.size_bytes},
          {"kind", s.kind == SnapshotKind::Base ? "base" : "manual"}};
}

std::vector<std::string> snapshot_row(const SnapshotRecord& s) {
  std::string label = s.kind == SnapshotKind::Base ? "(base)" : s.label.value_or("-");
  return {s.id, s.branch_name(), label, format_iso8601_ms(s.created_us), s.lsn,
          format_bytes(s.size_bytes)};
}

const std::vector<std::string> k_headers{"ID", "BRANCH", "LABEL", "CREATED", "LSN", "SIZE"};

Status run_create(const SnapshotOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  std::optional<std::string> label;
  if (o.label_option && o.label_option->count() > 0) label = o.label;
  if (label) TRY(validate_name("snapshot label", *label));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(SnapshotCreated created, create_snapshot(*ctx, ref, label));
  if (out.json()) {
    auto j = snapshot_json(created.snapshot);
    j["timings_ms"] = timings_json(created.timings);
    j["total_ms"] = std::round(created.total_ms * 100) / 100;
    out.document(j);
    return {};
  }
  out.line(fmt::format("Created snapshot {}{} of {} at LSN {} in {}", created.snapshot.id,
                       label ? " (" + *label + ")" : "", ref.full(), created.snapshot.lsn,
                       format_ms(created.total_ms)));
  for (const auto& [phase, ms] : created.timings)
    out.line(fmt::format("  {:<14}{:>10}", phase, format_ms(ms)));
  return {};
}

Status run_list(const SnapshotOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(std::optional<BranchRef> ref, parse_optional_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  std::vector<SnapshotRecord> snaps;
  if (ref) {
    TRY(require_branch(*ctx, *ref));
    TRY_ASSIGN(snaps, ctx->store.snapshots(ref->project, ref->branch));
  } else {
    TRY_ASSIGN(snaps, ctx->store.snapshots());
  }
  nlohmann::json j = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : snaps) {
    j.push_back(snapshot_json(s));
    rows.push_back(snapshot_row(s));
  }
  out.document(j);
  if (rows.empty()) {
    out.line("No snapshots.");
    return {};
  }
  out.table(k_headers, rows);
  return {};
}

Status run_delete(const SnapshotOptions& o, Env& env, const Output& out) {
  if (o.id.empty()) return fail(ErrorKind::Usage, "give a snapshot id or label");
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(SnapshotRecord s, find_snapshot(*ctx, o.id));
  TRY(delete_snapshot(*ctx, s));
  out.document({{"deleted", s.id}, {"branch", s.branch_name()}});
  out.line(fmt::format("Deleted snapshot {} of {}", s.id, s.branch_name()));
  return {};
}

Status run_cleanup(const SnapshotOptions& o, Env& env, const Output& out) {
  if (o.all == !o.ref.empty())
    return fail(ErrorKind::Usage, "name one branch as <project>/<branch>, or give --all");
  std::optional<BranchRef> ref;
  if (!o.all) {
    TRY_ASSIGN(ref, parse_branch_ref(o.ref));
  }
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(auto old, cleanup_snapshots(*ctx, ref, int64_t{o.days} * 86400, o.dry_run ? DryRun::Yes : DryRun::No));
  nlohmann::json j = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : old) {
    j.push_back(snapshot_json(s));
    rows.push_back(snapshot_row(s));
  }
  out.document({{"dry_run", o.dry_run}, {o.dry_run ? "would_delete" : "deleted", j}});
  out.line(fmt::format("{} {} snapshot(s) older than {} day(s)", o.dry_run ? "Would delete" : "Deleted",
                       old.size(), o.days));
  if (!rows.empty()) out.table(k_headers, rows);
  return {};
}

Status run_auto(const SnapshotOptions& o, Env& env, const Output& out) {
  auto max_replay = parse_size(o.max_replay);
  if (!max_replay || *max_replay == 0)
    return fail(ErrorKind::Usage, fmt::format("--max-replay '{}': give a size such as 1G or 512M", o.max_replay));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(auto results, auto_snapshots(*ctx, *max_replay));
  nlohmann::json j = nlohmann::json::array();
  std::vector<std::string> failed;
  for (const auto& a : results) {
    j.push_back({{"branch", a.branch}, {"wal_bytes", a.wal_bytes},
                 {"taken", a.taken ? snapshot_json(*a.taken) : nlohmann::json(nullptr)},
                 {"error", a.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.error)}});
    if (!a.error.empty()) failed.push_back(a.error);
    else if (a.taken)
      out.line(fmt::format("Created snapshot {} ({}) of {}: {} of WAL since its newest snapshot",
                           a.taken->id, a.taken->label.value_or(""), a.branch, format_bytes(a.wal_bytes)));
  }
  out.document({{"max_replay_bytes", *max_replay}, {"branches", j}});
  if (failed.empty()) return {};
  std::string msg = fmt::format("{} branch(es) failed:", failed.size());
  for (const auto& e : failed) msg += "\n  " + e;
  return fail(msg);
}

}  // namespace

void add_snapshot_commands(CLI::App& app, Invocation& inv) {
  auto* group = add_group(app, "snapshot", "Create, list and delete snapshots (PITR bases)");
  auto o = std::make_shared<SnapshotOptions>();

  auto* create = add_leaf(group, inv, o, "create", "Take an application-consistent, read-only snapshot", run_create);
  add_branch_arg(create, o->ref)->required();
  o->label_option =
      create->add_option("--label", o->label, "a name for it, unique per branch (e.g. before-migration)");

  add_branch_arg(add_leaf(group, inv, o, "list",
                          "List snapshots of all branches, or of one", run_list),
                 o->ref);

  add_leaf(group, inv, o, "delete", "Delete a snapshot by id or label", run_delete)
      ->add_option("id", o->id, "snapshot id or label")->required();

  auto* cleanup = add_leaf(group, inv, o, "cleanup", "Delete snapshots older than --days", run_cleanup);
  add_branch_arg(cleanup, o->ref);
  cleanup->add_flag("--all", o->all, "every branch's snapshots");
  cleanup->add_option("--days", o->days, "age in days (0 or more)")->required()->check(CLI::NonNegativeNumber);
  cleanup->add_flag("--dry-run", o->dry_run, "only list what would be deleted");

  add_leaf(group, inv, o, "auto",
           "Snapshot every running branch with more than --max-replay of WAL since its newest "
           "snapshot (run it every few minutes: the pgd-snapshots timer or cron)", run_auto)
      ->add_option("--max-replay", o->max_replay, "WAL a PITR may replay at most (default 1G)");
}

}  // namespace pgd::cli
