// pgd branch create|list|get|delete|reset (alias sync)|password


#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/views.h"
#include "core/pitr.h"
#include "core/rename.h"
#include "core/projects.h"
#include "core/follow.h"
#include "core/housekeeping.h"
#include "core/secrets.h"
#include "os/process.h"

namespace pgd::cli {
namespace {

struct BranchOptions {
  std::string ref, from, project, pitr, ttl, new_name;
  bool force = false;
  std::vector<std::string> psql_args;  // pgd connect P/B -- ARGS
};

Status run_create(const BranchOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef target, parse_branch_ref(o.ref));
  std::optional<BranchRef> from;
  if (!o.from.empty()) {
    TRY_ASSIGN(from, parse_branch_ref(o.from));
  }
  std::optional<int64_t> ttl_s;
  if (!o.ttl.empty()) {
    TRY_ASSIGN(ttl_s, parse_duration_setting("--ttl", o.ttl, "none"));
  }
  TRY_ASSIGN(Context * ctx, env.context());
  if (!o.pitr.empty()) {
    TRY_ASSIGN(BranchCreated created, create_pitr_branch(*ctx, target, from, o.pitr));
    if (ttl_s) {
      TRY_ASSIGN(created.branch, change_branch(*ctx, target, BranchChange{ttl_s, {}, {}}));
    }
    print_created(out, *ctx,
                  fmt::format("Recovered {}/{} as of '{}' into branch {}", target.project,
                              *created.branch.parent, o.pitr, target.full()),
                  created);
    return {};
  }
  TRY_ASSIGN(BranchCreated created, create_branch(*ctx, target, from));
  if (ttl_s) {
    TRY_ASSIGN(created.branch, change_branch(*ctx, target, BranchChange{ttl_s, {}, {}}));
  }
  print_created(out, *ctx,
                fmt::format("Created branch {} from {}/{}", target.full(), target.project,
                            *created.branch.parent),
                created);
  return {};
}

Status run_list(const BranchOptions& o, Env& env, const Output& out) {
  std::optional<std::string> project;
  if (!o.project.empty()) {
    TRY(validate_name("project", o.project));
    project = o.project;
  }
  TRY_ASSIGN(Context * ctx, env.context());
  if (project) TRY(require_project(*ctx, *project));
  TRY_ASSIGN(auto branches, ctx->store.branches(project));
  nlohmann::json j = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : branches) {
    auto bj = branch_json(*ctx, b, false);
    rows.push_back({b.full_name(), b.parent ? b.project + "/" + *b.parent : "-", bj["status"],
                    std::to_string(b.port), b.created_at});
    j.push_back(std::move(bj));
  }
  out.document(j);
  if (rows.empty()) {
    out.line("No branches.");
    return {};
  }
  out.table({"BRANCH", "PARENT", "STATUS", "PORT", "CREATED"}, rows);
  return {};
}

Status run_get(const BranchOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(BranchRecord branch, require_branch(*ctx, ref));
  auto j = branch_json(*ctx, branch, true);
  out.document(j);
  if (out.json()) return {};
  std::vector<std::vector<std::string>> rows;
  for (auto& [key, value] : j.items())
    rows.push_back({key, value.is_string() ? value.get<std::string>() : value.dump()});
  if (j["size_bytes"].is_number())
    rows.push_back({"size", format_bytes(j["size_bytes"].get<uint64_t>()) + " exclusive"});
  out.table({"FIELD", "VALUE"}, rows);
  return {};
}

Status run_delete(const BranchOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY(delete_branch(*ctx, ref, o.force ? Force::Yes : Force::No));
  out.document({{"deleted", ref.full()}});
  out.line(fmt::format("Deleted branch {}", ref.full()));
  return {};
}

Status run_reset(const BranchOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(BranchCreated reset, reset_branch(*ctx, ref, o.force ? Force::Yes : Force::No));
  print_created(out, *ctx,
                fmt::format("Reset branch {} to the current state of {}/{}", ref.full(),
                            ref.project, *reset.branch.parent),
                reset);
  return {};
}

Status run_rename(const BranchOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef from, parse_branch_ref(o.ref));
  // The new name alone ("feature-x") or in full ("shop/feature-x").
  TRY_ASSIGN(BranchRef to, parse_branch_ref(o.new_name.find('/') == std::string::npos
                                                ? from.project + "/" + o.new_name : o.new_name));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(Renamed renamed, rename_branch(*ctx, from, to));
  if (out.json()) {
    out.document({{"from", from.full()}, {"to", to.full()}, {"port", renamed.branch.port},
                  {"restarted", renamed.restarted}});
    return {};
  }
  out.line(fmt::format("Renamed branch {} to {} (port {}{})", from.full(), to.full(), renamed.branch.port,
                       renamed.restarted ? "; restarted: its clients were disconnected" : ""));
  return {};
}

Status run_password(const BranchOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(BranchRecord branch, require_branch(*ctx, ref));
  if (is_following_main(*ctx, branch))
    return fail(ErrorKind::Conflict,
                fmt::format("{} follows a primary: its roles and passwords are the primary's, not the "
                            "project's (pgd connect {} logs in as postgres over its private socket)",
                            ref.full(), ref.full()));
  TRY_ASSIGN(std::string password, load_password(ctx->files, ctx->paths, branch.project));
  out.document({{"name", ref.full()}, {"user", k_superuser}, {"password", password}});
  out.line(password);
  return {};
}

Status run_url(const BranchOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(BranchRecord branch, require_branch(*ctx, ref));
  out.document({{"name", ref.full()}, {"uri", connection_uri(*ctx, branch)}});
  out.line(connection_uri(*ctx, branch));
  return {};
}

// Replaces pgd with psql connected to the branch. The password reaches psql
// through its environment (readable only by this user), never its arguments.
Status run_connect(const BranchOptions& o, Env& env, const Output&) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(BranchRecord branch, require_branch(*ctx, ref));
  TRY_ASSIGN(std::string password, session_password(*ctx, branch));
  // A following main: over its private socket as postgres (peer; the roles'
  // passwords are the primary's). Otherwise over TCP with the project's password.
  std::string host = password.empty() ? ctx->paths.socket_dir(branch.port) : std::string(k_host);
  std::vector<std::string> args{"psql", "--host", host, "--port", std::to_string(branch.port),
                                "--username", k_superuser, "--dbname",
                                database_of(*ctx, branch.project)};
  args.insert(args.end(), o.psql_args.begin(), o.psql_args.end());
  std::vector<std::pair<std::string, std::string>> env_vars{{"PGAPPNAME", "pgd connect"}};
  if (!password.empty()) env_vars.emplace_back("PGPASSWORD", password);
  Error e = os::exec_replacing(args, env_vars);
  return fail(fmt::format("connect {}: {}; install it with apt-get install postgresql-client",
                          ref.full(), e.message));
}

}  // namespace

void add_connect_command(CLI::App& app, Invocation& inv) {
  auto o = std::make_shared<BranchOptions>();
  auto* cmd = app.add_subcommand("connect", "Open psql on a branch (pgd connect P/B -- psql args)");
  add_branch_arg(cmd, o->ref)->required();
  cmd->add_option("psql_args", o->psql_args, "arguments for psql, after --");
  cmd->callback([&inv, o] { inv.action = [o](Env& e, const Output& out) { return run_connect(*o, e, out); }; });
}

void add_branch_commands(CLI::App& app, Invocation& inv) {
  auto* group = add_group(app, "branch", "Create, list, inspect, reset and delete branches");
  auto o = std::make_shared<BranchOptions>();

  auto* create = add_leaf(group, inv, o, "create", "Branch a copy-on-write clone (default: of main)", run_create);
  add_branch_arg(create, o->ref)->required();
  create->add_option("--from", o->from, "source branch <project>/<branch> (default <project>/main)");
  create->add_option("--pitr", o->pitr,
                     "recover the source as of a time (2025-10-07T14:30:00Z, \"2 hours ago\", -30m), "
                     "an LSN (0/3000060) or a snapshot label");
  create->add_option("--ttl", o->ttl, "delete it this long after creation (30m, 3d), by pgd serve");

  auto* list = add_leaf(group, inv, o, "list", "List branches of all projects, or of one", run_list);
  list->add_option("project", o->project, "only this project");

  add_branch_arg(add_leaf(group, inv, o, "get",
                          "Show a branch, its connection details and size", run_get),
                 o->ref)->required();

  auto* del = add_leaf(group, inv, o, "delete", "Delete a branch", run_delete);
  add_branch_arg(del, o->ref)->required();
  del->add_flag("--force", o->force, "also delete the branches made from it");

  auto* reset = add_leaf(group, inv, o, "reset", "Reset a branch to its parent's current state", run_reset);
  add_branch_arg(reset, o->ref)->required();
  reset->alias("sync");
  reset->add_flag("--force", o->force, "also when the branch has snapshots (they are deleted)");

  auto* rename = add_leaf(group, inv, o, "rename",
                          "Rename a branch: its data, port, snapshots, WAL archive and children keep "
                          "to it (a running one restarts)", run_rename);
  add_branch_arg(rename, o->ref)->required();
  rename->add_option("new_name", o->new_name, "the new name: <branch> or <project>/<branch>")->required();

  add_branch_set_command(group, inv);

  add_branch_arg(add_leaf(group, inv, o, "password",
                          "Print the branch's password for user postgres", run_password),
                 o->ref)->required();
  add_branch_arg(add_leaf(group, inv, o, "url",
                          "Print the branch's connection URI (without the password)", run_url),
                 o->ref)->required();
}

}  // namespace pgd::cli
