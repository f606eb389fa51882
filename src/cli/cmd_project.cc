// pgd project create|list|get|delete
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/views.h"
#include "core/projects.h"

namespace pgd::cli {
namespace {

struct ProjectOptions {
  std::string name;
  int pg_version = 0;
  bool force = false;
};

nlohmann::json project_json(Context& ctx, const ProjectRecord& p) {
  nlohmann::json branches = nlohmann::json::array();
  if (auto all = ctx.store.branches(p.name))
    for (const auto& b : *all) branches.push_back(branch_json(ctx, b, false));
  return {{"name", p.name}, {"pg_version", p.pg_version}, {"created_at", p.created_at},
          {"branch_count", branches.size()}, {"branches", branches}};
}

Status run_create(const ProjectOptions& o, Env& env, const Output& out) {
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
  out.line(fmt::format("Project {}: PostgreSQL {}, created {}", project.name, project.pg_version,
                       project.created_at));
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

  add_leaf(group, inv, o, "list", "List projects", run_list);

  add_leaf(group, inv, o, "get", "Show a project and its branches", run_get)
      ->add_option("name", o->name, "project name")->required();

  auto* del = add_leaf(group, inv, o, "delete", "Delete a project with all its branches", run_delete);
  del->add_option("name", o->name, "project name")->required();
  del->add_flag("--force", o->force, "also delete its branches besides main");
}

}  // namespace pgd::cli
