#include "core/repair.h"

#include <signal.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "core/branches.h"
#include "core/checks.h"
#include "core/follow.h"
#include "core/imports.h"
#include "core/operation.h"
#include "core/rename.h"
#include "core/projects.h"
#include "core/secrets.h"
#include "core/snapshots.h"
#include "core/wal_ops.h"
#include "postgres/config.h"

namespace pgd {
namespace {

// Everything pgd knows of one project, read fresh.
struct ProjectState {
  std::optional<ProjectRecord> project;
  std::vector<BranchRecord> branches;
  std::vector<SnapshotRecord> snapshots;
  std::vector<IntentRecord> intents;  // interrupted ones (pid gone)
  std::set<std::string> in_progress;  // subjects of operations whose pgd still runs
  std::vector<std::string> volumes;   // on disk
};

Result<ProjectState> load(Context& ctx, const std::string& name) {
  ProjectState s;
  TRY_ASSIGN(s.project, ctx.store.project(name));
  TRY_ASSIGN(s.branches, ctx.store.branches(name));
  TRY_ASSIGN(s.snapshots, ctx.store.snapshots(name));
  TRY_ASSIGN(auto intents, ctx.store.intents());
  for (const auto& i : intents) {
    if (project_of(i.subject) != name) continue;
    if (pgd_alive(ctx.processes, i.pid)) s.in_progress.insert(i.subject);
    else s.intents.push_back(i);
  }
  TRY_ASSIGN(auto volumes, ctx.storage.list());
  for (const auto& v : volumes)
    if (project_of(v) == name) s.volumes.push_back(v);
  return s;
}

// A postmaster running on a data directory pgd no longer knows: stop it by its pid.
void stop_stray_postmaster(Context& ctx, const std::string& data_dir) {
  auto content = ctx.files.read(data_dir + "/postmaster.pid");
  auto pid = content ? pg::postmaster_pid_for(*content, data_dir) : std::nullopt;
  if (!pid || !ctx.processes.alive(*pid) || ctx.processes.name(*pid) != "postgres") return;
  // Immediate: the data is about to be destroyed. A failed signal shows as the
  // volume's removal failing next, with its own error.
  ignore_error(ctx.processes.signal(*pid, SIGQUIT), "the removal that follows reports it");
  for (int i = 0; i < 500 && ctx.processes.alive(*pid); ++i) ctx.processes.sleep_ms(10);
}

class Reconciler {
 public:
  Reconciler(Context& ctx, Mode mode, std::vector<Finding>& out) : m_ctx(ctx), m_mode(mode), m_out(out) {}

  // Records a finding; in Fix mode runs `fix` and notes whether it worked.
  void found(const std::string& subject, const std::string& problem, const std::string& fix,
             const std::function<Status()>& apply) {
    Finding f{subject, problem, fix, false};
    if (m_mode == Mode::Fix) {
      auto st = apply();
      f.fixed = bool(st);
      if (!st) f.fix += " (failed: " + st.error().message + ")";
    }
    m_out.push_back(f);
  }

  Status intents(const ProjectState& s) {
    for (const auto& i : s.intents) {
      std::string what = fmt::format("'{} {}' was interrupted at step '{}' (pid {}, {})", i.op,
                                     i.subject, i.step, i.pid, i.started_at);
      found("operation " + i.op + " " + i.subject, what, resolution(i),
            [&]() -> Status {
              TRY(resolve(i, s));
              return m_ctx.store.end_intent(i.id);
            });
    }
    return {};
  }

  void branches(const ProjectState& s) {
    std::set<std::string> on_disk(s.volumes.begin(), s.volumes.end());
    for (const auto& b : s.branches) {
      if (renaming(s, b.name)) continue;
      std::string subject = "branch " + b.full_name();
      if (b.state == BranchState::Creating && s.in_progress.count(b.full_name())) {
        continue;  // a create that runs now (doctor without --fix takes no lock)
      } else if (b.state == BranchState::Creating) {
        found(subject, "its creation never finished", "destroy what was made of it",
              [&] { return destroy_branch(m_ctx, b); });
      } else if (!on_disk.count(b.volume)) {
        found(subject, "its subvolume " + m_ctx.storage.path(b.volume) + " is missing",
              "remove the record", [&] { return forget_branch(b); });
      } else {
        live_state(b, subject);
      }
    }
  }

  void snapshots(const ProjectState& s) {
    std::set<std::string> on_disk(s.volumes.begin(), s.volumes.end());
    for (const auto& snap : s.snapshots)
      if (!on_disk.count(snap.volume) && !renaming(s, snap.branch))
        found("snapshot " + snap.id, "its subvolume " + m_ctx.storage.path(snap.volume) + " is missing",
              "remove the record", [&] { return m_ctx.store.delete_snapshot(snap.id); });
  }

  void orphans(const ProjectState& s) {
    std::set<std::string> known;
    for (const auto& b : s.branches) known.insert(b.volume);
    for (const auto& snap : s.snapshots) known.insert(snap.volume);
    for (const auto& v : s.volumes) {
      // A volume that is an operation's subject while its pgd runs is in use
      // (a diff's private copy): only a dead pgd's is left over.
      if (known.count(v) || s.in_progress.count(v)) continue;
      if (renaming(s, v.substr(v.find('/') + 1, v.find('@') - v.find('/') - 1))) continue;
      found("subvolume " + v, m_ctx.storage.path(v) + " has no record (left by an interrupted command)",
            "stop any server on it and destroy it", [&]() -> Status {
              stop_stray_postmaster(m_ctx, m_ctx.storage.path(v));
              return m_ctx.storage.destroy(v);
            });
    }
  }

  void project(const std::string& name, const ProjectState& s) {
    bool has_branches = !s.branches.empty();
    if (s.project && !has_branches)
      found("project " + name, "it has no branch left (its creation or deletion was interrupted)",
            "remove the project", [&] { return forget_project(name); });
    if (!s.project && (has_branches || m_ctx.storage.exists(name)))
      found("project " + name, "its data exists but its record does not", "remove its data",
            [&]() -> Status {
              for (const auto& b : s.branches) TRY(destroy_branch(m_ctx, b));
              return forget_project(name);
            });
  }

 private:
  // Whether `branch` is a name of a rename that is still unfinished (its
  // finish failed, or doctor only checks): its volumes and records are half
  // moved, and only finishing the rename may touch them.
  static bool renaming(const ProjectState& s, const std::string& branch) {
    for (const auto& i : s.intents) {
      if (i.op != "branch.rename") continue;
      auto names = parse_rename_subject(i.subject);
      if (names && (names->from == branch || names->to == branch)) return true;
    }
    return false;
  }
  static std::string resolution(const IntentRecord& i) {
    if (i.op == "branch.delete" || i.op == "project.delete") return "finish the deletion";
    if (i.op == "branch.rename") return "finish the rename";
    if (i.op == "branch.reset" && reset_swapped(i)) return "finish the reset (the data was already swapped)";
    if (i.op == "project.refresh" && i.step == "swapped")
      return "finish the refresh (the new copy was already swapped in)";
    return "roll back what it made";
  }
  static bool reset_swapped(const IntentRecord& i) {
    return i.step == "swapped" || i.step == "configured" || i.step == "started";
  }

  Status resolve(const IntentRecord& i, const ProjectState& s) {
    if (i.op == "branch.rename") {
      auto names = parse_rename_subject(i.subject);
      if (!names) return fail(fmt::format("unreadable rename intent '{}'", i.subject));
      return finish_rename(m_ctx, *names);
    }
    std::string branch = i.subject.substr(i.subject.find('/') + 1);
    if (i.op == "project.delete") {
      for (const auto& b : s.branches) TRY(destroy_branch(m_ctx, b));
      return forget_project(i.subject);
    }
    for (const auto& b : s.branches) {
      if (b.name != branch) continue;
      if (i.op == "branch.delete") {
        std::vector<BranchRecord> doomed = descendants(s.branches, b.name);
        doomed.push_back(b);
        for (const auto& d : doomed) TRY(destroy_branch(m_ctx, d));
      }
      if (i.op == "branch.reset" && reset_swapped(i)) TRY(finish_reset(b, s));
      if (i.op == "project.refresh" && i.step == "swapped") TRY(finish_refresh(m_ctx, b, i.step));
    }
    return {};  // roll-backs: the generic reconciliation that follows does them
  }

  Status finish_reset(const BranchRecord& b, const ProjectState& s) {
    for (const auto& snap : s.snapshots)
      if (snap.branch == b.name) TRY(destroy_snapshot(m_ctx, snap));
    Instance in = instance_for(m_ctx, b);
    if (!m_ctx.postgres.running_pid(in)) {  // else it was interrupted after starting it
      TRY(prepare_archive(m_ctx, b, FreshArchive::Yes));
      TRY(m_ctx.postgres.prepare_clone(in, Recovery::No));
      TRY(m_ctx.postgres.start(in));
    }
    return m_ctx.store.set_branch_state(b.project, b.name, BranchState::Running);
  }

  void live_state(const BranchRecord& b, const std::string& subject) {
    Instance in = instance_for(m_ctx, b);
    bool up = m_ctx.postgres.running_pid(in).has_value();
    if (b.state == BranchState::Running && !up)
      found(subject, fmt::format("should be running on port {} but is not (log {}{})", b.port, in.log_path,
                                 why_stopped(in.log_path)),
            fmt::format("start it (pgd start {})", b.full_name()), [&]() -> Status {
              TRY(prepare_archive(m_ctx, b, FreshArchive::No));
              TRY(m_ctx.postgres.configure(in));
              return m_ctx.postgres.start(in).map([](pid_t) {});
            });
    if (b.state == BranchState::Stopped && up)
      found(subject, "is running but was stopped", fmt::format("stop it (pgd stop {})", b.full_name()),
            [&] { return m_ctx.postgres.stop(in); });
    // Left behind a daemon that is gone (and not restarted): clients of its
    // published port reach nothing.
    int live = up ? m_ctx.postgres.listening_port(in).value_or(b.port) : b.port;
    bool serving = m_ctx.daemon_serving && m_ctx.daemon_serving();
    if (b.state == BranchState::Sleeping && !up && !serving)
      found(subject, "sleeps but pgd serve is not running: no connection wakes it",
            fmt::format("start it (pgd start {}; or start pgd serve)", b.full_name()), [&]() -> Status {
              TRY(prepare_archive(m_ctx, b, FreshArchive::No));
              TRY(m_ctx.postgres.configure(in));
              TRY(m_ctx.postgres.start(in));
              return m_ctx.store.set_branch_state(b.project, b.name, BranchState::Running);
            });
    if (live != b.port && !serving)
      found(subject, fmt::format("listens on its private port {} but pgd serve is not running", live),
            fmt::format("restart it on its port {} (or start pgd serve)", b.port), [&]() -> Status {
              TRY(m_ctx.postgres.stop(in));
              return m_ctx.postgres.start(in).map([](pid_t) {});
            });
  }

  // "; it says: PANIC: ... No space left on device", or "".
  std::string why_stopped(const std::string& log_path) {
    std::string why = last_failure(m_ctx.files, log_path);
    return why.empty() ? "" : "; it says: " + why;
  }

  Status forget_branch(const BranchRecord& b) {
    TRY_ASSIGN(auto snaps, m_ctx.store.snapshots(b.project, b.name));
    for (const auto& snap : snaps) TRY(destroy_snapshot(m_ctx, snap));
    TRY(m_ctx.files.remove_tree(m_ctx.paths.wal_dir(b.project, b.name)));
    return m_ctx.store.delete_branch(b.project, b.name);
  }

  Status forget_project(const std::string& name) {
    // A slot pgd made on a primary outlives a killed pgd there: drop it first
    // (a primary out of reach fails this repair, and the record stays for the next).
    if (auto p = m_ctx.store.project(name); p && *p) TRY(drop_owned_slot(m_ctx, **p));
    TRY(m_ctx.storage.destroy(name));
    TRY(remove_project_files(m_ctx, name));
    return m_ctx.store.delete_project(name);
  }

  Context& m_ctx;
  Mode m_mode;
  std::vector<Finding>& m_out;
};

Result<std::set<std::string>> all_projects(Context& ctx) {
  std::set<std::string> names;
  TRY_ASSIGN(auto projects, ctx.store.projects());
  for (const auto& p : projects) names.insert(p.name);
  TRY_ASSIGN(auto volumes, ctx.storage.list());
  for (const auto& v : volumes) names.insert(project_of(v));
  TRY_ASSIGN(auto intents, ctx.store.intents());
  for (const auto& i : intents) names.insert(project_of(i.subject));
  TRY_ASSIGN(auto branches, ctx.store.branches());
  for (const auto& b : branches) names.insert(b.project);
  return names;
}

}  // namespace

Result<std::vector<Finding>> reconcile(Context& ctx, Mode mode) {
  std::vector<Finding> out;
  TRY_ASSIGN(auto names, all_projects(ctx));
  for (const auto& name : names) {
    std::unique_ptr<os::Lock> lock;
    if (mode == Mode::Fix) {
      auto l = lock_project(ctx, name, 5000);
      if (!l) {
        out.push_back({"project " + name, "a pgd command is working on it right now", "try again later", false});
        continue;
      }
      lock = std::move(*l);
    }
    Reconciler r(ctx, mode, out);
    // Each pass reads the state afresh: earlier fixes change what the next sees.
    TRY_ASSIGN(ProjectState s, load(ctx, name));
    TRY(r.intents(s));
    TRY_ASSIGN(s, load(ctx, name));
    r.branches(s);
    TRY_ASSIGN(s, load(ctx, name));
    r.snapshots(s);
    TRY_ASSIGN(s, load(ctx, name));
    r.orphans(s);
    TRY_ASSIGN(s, load(ctx, name));
    r.project(name, s);
  }
  return out;
}

}  // namespace pgd
