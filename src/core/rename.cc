#include "core/rename.h"

#include <fmt/format.h>

#include "core/branches.h"
#include "core/operation.h"

namespace pgd {
namespace {

// One path moved unless that was done already (a rerun by doctor): only a
// source that exists beside a free target moves.
Status move_if_there(Context& ctx, const std::string& from, const std::string& to, bool volume) {
  bool source = volume ? ctx.storage.exists(from) : ctx.files.exists(from);
  bool target = volume ? ctx.storage.exists(to) : ctx.files.exists(to);
  if (!source || target) return {};
  return volume ? ctx.storage.rename(from, to) : ctx.files.rename(from, to);
}

// Every name on disk that carries the branch's: its volume, its snapshots'
// volumes (`snapshot_ids`), its WAL archive and its log.
Status move_names(Context& ctx, const RenameNames& n, const std::vector<std::string>& snapshot_ids) {
  std::string old_volume = n.project + "/" + n.from, new_volume = n.project + "/" + n.to;
  for (const auto& id : snapshot_ids) TRY(move_if_there(ctx, old_volume + "@" + id, new_volume + "@" + id, true));
  TRY(move_if_there(ctx, ctx.paths.wal_dir(n.project, n.from), ctx.paths.wal_dir(n.project, n.to), false));
  TRY(move_if_there(ctx, ctx.paths.log_file(n.project, n.from), ctx.paths.log_file(n.project, n.to), false));
  // The volume last: until it moves, `pgd doctor` finds the branch's data where its record says.
  return move_if_there(ctx, old_volume, new_volume, true);
}

Result<std::vector<std::string>> snapshot_ids(Context& ctx, const std::string& project, const std::string& branch) {
  TRY_ASSIGN(auto snapshots, ctx.store.snapshots(project, branch));
  std::vector<std::string> ids;
  for (const auto& s : snapshots) ids.push_back(s.id);
  return ids;
}

Status check_names(Context& ctx, const BranchRef& from, const BranchRef& to) {
  if (from.project != to.project)
    return fail(ErrorKind::Usage, fmt::format("'{}' -> '{}': a branch keeps its project; rename within "
                                              "one project", from.full(), to.full()));
  if (from.branch == "main" || to.branch == "main")
    return fail(ErrorKind::Usage, "the main branch keeps its name, and no branch can take it");
  if (from.branch == to.branch) return fail(ErrorKind::Usage, fmt::format("'{}' already has that name", from.full()));
  TRY_ASSIGN(auto existing, ctx.store.branch(to.project, to.branch));
  if (existing)
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' already exists", to.full()));
  if (ctx.storage.exists(to.project + "/" + to.branch))
    return fail(ErrorKind::Conflict, fmt::format("{} exists but pgd has no record of it; run 'pgd doctor'",
                                                 ctx.storage.path(to.project + "/" + to.branch)));
  return {};
}

// A rename waits for no one: another command at work on the project refuses it.
Status require_no_operation(Context& ctx, const std::string& project) {
  TRY_ASSIGN(auto intents, ctx.store.intents());
  for (const auto& i : intents)
    if (project_of(i.subject) == project && ctx.processes.alive(i.pid))
      return fail(ErrorKind::Conflict, fmt::format("project '{}' is busy: '{} {}' is under way (pid {}); "
                                                   "rename when it is done", project, i.op, i.subject, i.pid));
  return {};
}

}  // namespace

std::string rename_subject(const std::string& project, const std::string& from, const std::string& to) {
  return fmt::format("{}/{} -> {}/{}", project, from, project, to);
}

std::optional<RenameNames> parse_rename_subject(const std::string& subject) {
  size_t arrow = subject.find(" -> ");
  if (arrow == std::string::npos) return std::nullopt;
  auto from = parse_branch_ref(subject.substr(0, arrow));
  auto to = parse_branch_ref(subject.substr(arrow + 4));
  if (!from || !to || from->project != to->project) return std::nullopt;
  return RenameNames{from->project, from->branch, to->branch};
}

Result<Renamed> rename_branch(Context& ctx, const BranchRef& from, const BranchRef& to) {
  TRY(check_names(ctx, from, to));
  TRY(require_no_operation(ctx, from.project));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "branch.rename", from.project,
                                            rename_subject(from.project, from.branch, to.branch)));
  TRY_ASSIGN(BranchRecord branch, require_branch(ctx, from));
  if (branch.state == BranchState::Creating)
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' is still being created", from.full()));
  TRY(check_names(ctx, from, to));  // again, under the lock
  Instance in = instance_for(ctx, branch);
  Renamed out;
  out.restarted = ctx.postgres.running_pid(in).has_value();
  // A fast stop: its last WAL is archived, into the archive that moves next.
  TRY(ctx.postgres.stop(in, StopMode::Fast));
  TRY(op.step("stopped"));
  // From here the rename is finished, whatever comes: it takes a few renames.
  op.finish_regardless();
  RenameNames names{from.project, from.branch, to.branch};
  TRY_ASSIGN(auto ids, snapshot_ids(ctx, from.project, from.branch));
  TRY(move_names(ctx, names, ids));
  TRY(op.step("moved"));
  TRY(ctx.store.rename_branch(from.project, from.branch, to.branch));
  TRY(op.step("recorded"));
  TRY_ASSIGN(out.branch, require_branch(ctx, to));
  if (out.restarted) TRY(start_server(ctx, out.branch));
  TRY(op.step("started"));
  return out;
}

Status finish_rename(Context& ctx, const RenameNames& n) {
  TRY_ASSIGN(auto old_record, ctx.store.branch(n.project, n.from));
  std::string recorded = old_record ? n.from : n.to;
  TRY_ASSIGN(auto ids, snapshot_ids(ctx, n.project, recorded));
  TRY(move_names(ctx, n, ids));
  if (old_record) TRY(ctx.store.rename_branch(n.project, n.from, n.to));
  TRY_ASSIGN(BranchRecord b, require_branch(ctx, BranchRef{n.project, n.to}));
  if (b.state == BranchState::Running) TRY(start_server(ctx, b));
  return {};
}

}  // namespace pgd
