// pgd project create|list|get|refresh|delete
#include <fmt/format.h>

#include "base/names.h"
#include "cli/commands.h"
#include "cli/views.h"
#include "core/follow.h"
#include "core/imports.h"
#include "core/projects.h"

namespace pgd::cli {
namespace {

struct ProjectOptions {
  std::string name;
  int pg_version = 0;
  bool force = false;
  std::string from;
  std::string follow;
  std::string slot;
  int connect_timeout_s = 10;
  int jobs = 2;
};

nlohmann::json optional_text(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json project_json(Context& ctx, const ProjectRecord& p) {
  nlohmann::json branches = nlohmann::json::array();
  if (auto all = ctx.store.branches(p.name))
    for (const auto& b : *all) branches.push_back(branch_json(ctx, b, false));
  return {{"name", p.name},          {"pg_version", p.pg_version},
          {"created_at", p.created_at}, {"database", p.database},
          {"source", optional_text(p.source)}, {"copied_at", optional_text(p.copied_at)},
          {"primary", optional_text(p.primary)}, {"slot", optional_text(p.slot)},
          {"following", p.following()}, {"promoted_at", optional_text(p.promoted_at)},
          {"policies", policies_json(p)},
          {"branch_count", branches.size()}, {"branches", branches}};
}

ImportOptions import_options(const ProjectOptions& o, const std::string& subject) {
  ImportOptions io;
  io.source = o.from;
  io.connect_timeout_s = o.connect_timeout_s;
  io.jobs = o.jobs;
  if (o.pg_version != 0) io.pg_version = o.pg_version;
  // Only someone at a terminal can answer; scripts get the error that says
  // where else the password can come from.
  if (os::is_terminal(0))
    io.ask_password = [subject] { return os::read_secret("Password for the source of " + subject + ": "); };
  return io;
}

// Import figures for --json: per-phase timings, bytes, rows and the rate.
nlohmann::json import_json(const ImportStats& s) {
  double data_ms = 0;
  for (const auto& [phase, ms] : s.phases)
    if (phase == "data") data_ms = ms;
  return {{"source", s.source},     {"database", s.database}, {"tables", s.tables},
          {"rows", s.rows},         {"bytes", s.bytes},
          {"data_mb_per_s", data_ms > 0 ? std::round(double(s.bytes) / 1e6 / (data_ms / 1000) * 10) / 10 : 0.0},
          {"phases_ms", timings_json(s.phases)}};
}

void print_imported(const Output& out, Context& ctx, const std::string& headline, const Imported& done) {
  if (out.json()) {
    nlohmann::json j = branch_json(ctx, done.created.branch, false);
    j["timings_ms"] = timings_json(done.created.timings);
    j["total_ms"] = std::round(done.created.total_ms * 100) / 100;
    j["import"] = import_json(done.stats);
    if (done.before_refresh) j["before_refresh"] = done.before_refresh->label.value_or(done.before_refresh->id);
    out.document(j);
    return;
  }
  print_created(out, ctx, headline, done.created);
  if (!out.live())  // otherwise the phases are on the terminal already
    for (const auto& [phase, ms] : done.stats.phases)
      out.line(fmt::format("  {:<14}{:>10}", phase, format_ms(ms)));
  out.line(fmt::format("Copied {} tables, {} rows, {} of table data from {}", done.stats.tables,
                       done.stats.rows, format_bytes(uint64_t(done.stats.bytes)), done.stats.source));
  if (done.before_refresh)
    out.line(fmt::format("The previous main is kept as snapshot {} (pgd snapshot delete {} when no "
                         "longer needed)", *done.before_refresh->label, *done.before_refresh->label));
}

Status run_import(const ProjectOptions& o, Env& env, const Output& out) {
  TRY(check_source(o.from));  // a usage error before anything is opened
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(Imported done, import_project(*ctx, env.copier(), o.name, import_options(o, o.name)));
  print_imported(out, *ctx,
                 fmt::format("Imported {} into project {} (PostgreSQL {}) as {}, database {}", o.from,
                             o.name, done.created.branch.pg_version, done.created.branch.full_name(),
                             done.stats.database),
                 done);
  return {};
}

Status run_refresh(const ProjectOptions& o, Env& env, const Output& out) {
  TRY(validate_name("project", o.name));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(Imported done, refresh_project(*ctx, env.copier(), o.name, import_options(o, o.name)));
  print_imported(out, *ctx, fmt::format("Refreshed {} from {}", done.created.branch.full_name(),
                                        done.stats.source), done);
  return {};
}

Status run_follow(const ProjectOptions& o, Env& env, const Output& out) {
  if (!o.from.empty())
    return fail(ErrorKind::Usage, "--from and --follow exclude each other: a copy or a standby");
  if (o.pg_version != 0)
    return fail(ErrorKind::Usage, "--pg-version does not apply to --follow: a standby runs the primary's version");
  TRY(check_source(o.follow, "--follow"));
  TRY_ASSIGN(Context * ctx, env.context());
  FollowOptions fo;
  fo.primary = o.follow;
  fo.slot = o.slot;
  fo.connect_timeout_s = o.connect_timeout_s;
  if (os::is_terminal(0)) {
    std::string subject = o.name;
    fo.ask_password = [subject] { return os::read_secret("Replication password for the primary of " + subject + ": "); };
  }
  TRY_ASSIGN(BranchCreated created, follow_project(*ctx, o.name, fo));
  print_created(out, *ctx,
                fmt::format("Created project {} (PostgreSQL {}): {} follows {}", o.name,
                            created.branch.pg_version, created.branch.full_name(), o.follow),
                created);
  return {};
}

Status run_promote(const ProjectOptions& o, Env& env, const Output& out) {
  TRY(validate_name("project", o.name));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY(promote_project(*ctx, o.name));
  out.document({{"promoted", o.name}});
  out.line(fmt::format("Promoted {}/main: it no longer follows its primary and accepts writes", o.name));
  return {};
}

Status run_create(const ProjectOptions& o, Env& env, const Output& out) {
  if (!o.follow.empty()) return run_follow(o, env, out);
  if (!o.slot.empty()) return fail(ErrorKind::Usage, "--slot needs --follow");
  if (!o.from.empty()) return run_import(o, env, out);
  TRY_ASSIGN(Context * ctx, env.context());
  std::optional<int> version;
  if (o.pg_version != 0) version = o.pg_version;
  TRY_ASSIGN(BranchCreated created, create_project(*ctx, o.name, version));
  print_created(out, *ctx,
                fmt::format("Created project {} (PostgreSQL {}) with branch {}", o.name,
                            created.branch.pg_version, created.branch.full_name()),
                created);
  return {};
}

Status run_list(const ProjectOptions&, Env& env, const Output& out) {
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(auto projects, ctx->store.projects());
  nlohmann::json j = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : projects) {
    auto pj = project_json(*ctx, p);
    rows.push_back({p.name, std::to_string(p.pg_version), std::to_string(pj["branch_count"].get<size_t>()),
                    p.created_at});
    pj.erase("branches");
    j.push_back(pj);
  }
  out.document(j);
  if (rows.empty()) {
    out.line("No projects yet: pgd project create NAME");
    return {};
  }
  out.table({"PROJECT", "PG", "BRANCHES", "CREATED"}, rows);
  return {};
}

Status run_get(const ProjectOptions& o, Env& env, const Output& out) {
  TRY(validate_name("project", o.name));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(ProjectRecord project, require_project(*ctx, o.name));
  auto j = project_json(*ctx, project);
  out.document(j);
  out.line(fmt::format("Project {}: PostgreSQL {}, created {}, database {}", project.name,
                       project.pg_version, project.created_at, project.database));
  if (project.source)
    out.line(fmt::format("Imported from {}, copied {}", *project.source, project.copied_at.value_or("-")));
  if (project.primary && !project.promoted_at)
    out.line(fmt::format("main follows {}{}", *project.primary,
                         project.slot ? " through slot " + *project.slot : ""));
  if (project.promoted_at)
    out.line(fmt::format("main followed {} until it was promoted {}", *project.primary, *project.promoted_at));
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : j["branches"])
    rows.push_back({b["name"], b["parent"].is_null() ? "-" : b["parent"].get<std::string>(),
                    b["status"], std::to_string(b["port"].get<int>())});
  out.table({"BRANCH", "PARENT", "STATUS", "PORT"}, rows);
  return {};
}

Status run_delete(const ProjectOptions& o, Env& env, const Output& out) {
  TRY(validate_name("project", o.name));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY(delete_project(*ctx, o.name, o.force ? Force::Yes : Force::No));
  out.document({{"deleted", o.name}});
  out.line(fmt::format("Deleted project {}", o.name));
  return {};
}

}  // namespace

void add_project_commands(CLI::App& app, Invocation& inv) {
  auto o = std::make_shared<ProjectOptions>();
  auto* group = add_group(app, "project", "Create, list, inspect and delete projects");

  auto* create = add_leaf(group, inv, o, "create", "Create a project and start its main branch", run_create);
  create->add_option("name", o->name, "project name")->required();
  create->add_option("--pg-version", o->pg_version, "PostgreSQL major version (default: newest installed)");
  create->add_option("--from", o->from,
                     "copy this database into main: a URL (postgresql://user@host/db) or "
                     "service=NAME; the password comes from PGPASSWORD, ~/.pgpass, the service or a prompt");
  auto import_flags = [&](CLI::App* cmd) {
    cmd->add_option("--connect-timeout", o->connect_timeout_s,
                    "seconds to wait for the source or the primary (default 10)");
    cmd->add_option("--jobs", o->jobs, "tables copied and indexes built at once (default 2)");
  };
  create->add_option("--follow", o->follow,
                     "make main a hot standby streaming from this primary (a URL with a user that "
                     "has REPLICATION); password as for --from");
  create->add_option("--slot", o->slot, "with --follow: a physical replication slot pgd creates on the "
                                        "primary (and drops on promote or delete)");
  import_flags(create);

  add_leaf(group, inv, o, "list", "List projects", run_list);

  add_leaf(group, inv, o, "get", "Show a project and its branches", run_get)
      ->add_option("name", o->name, "project name")->required();

  auto* refresh = add_leaf(group, inv, o, "refresh",
                           "Replace main with a fresh, verified copy of the project's source", run_refresh);
  refresh->add_option("name", o->name, "project name")->required();
  import_flags(refresh);

  add_leaf(group, inv, o, "promote",
           "Stop following the primary: main becomes writable, keeping its branches and history", run_promote)
      ->add_option("name", o->name, "project name")->required();

  add_project_set_command(group, inv);

  auto* del = add_leaf(group, inv, o, "delete", "Delete a project with all its branches", run_delete);
  del->add_option("name", o->name, "project name")->required();
  del->add_flag("--force", o->force, "also delete its branches besides main");
}

}  // namespace pgd::cli
