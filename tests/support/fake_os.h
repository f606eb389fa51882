// In-memory fakes of the OS interfaces (LevelDB's memenv): files, locks and
// processes that a unit test can inspect and make fail at a named path.
#pragma once

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "os/files.h"
#include "os/process.h"

namespace pgd::test {

class FakeFiles : public os::Files {
 public:
  struct File {
    std::string content;
    mode_t mode = 0;
    std::optional<os::Owner> owner;
    int64_t mtime_s = 1767225600;  // 2026-01-01T00:00:00Z
  };
  std::map<std::string, File> files;
  std::set<std::string> dirs;
  std::set<std::string> locked;       // held locks' paths
  std::multiset<std::string> shared_locked;  // held shared locks' paths, once per holder
  std::set<std::string> fail_write;   // write_atomic of these paths fails
  std::set<std::string> fail_remove;  // remove_* of these paths (or below them) fails

  Status write_atomic(const std::string& path, const std::string& content, mode_t mode,
                      std::optional<os::Owner> owner = std::nullopt) override {
    if (fail_write.count(path)) return fail(fmt::format("write {}: No space left on device", path));
    files[path] = File{content, mode, owner, files.count(path) ? files[path].mtime_s : 1767225600};
    return {};
  }
  Result<std::string> read(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return fail(ErrorKind::NotFound, fmt::format("open {}: No such file or directory", path));
    return it->second.content;
  }
  bool exists(const std::string& path) override { return files.count(path) || dirs.count(path); }
  Result<os::Owner> owner(const std::string& path) override {
    if (!exists(path)) return fail(fmt::format("stat {}: No such file or directory", path));
    return os::Owner{1000, 1000};
  }
  Result<mode_t> mode(const std::string& path) override {
    if (files.count(path)) return files[path].mode;
    if (dirs.count(path)) return mode_t{0700};
    return fail(fmt::format("stat {}: No such file or directory", path));
  }
  Status make_dirs(const std::string& path, mode_t) override {
    for (size_t i = 1; i != std::string::npos; i = path.find('/', i + 1)) dirs.insert(path.substr(0, i));
    dirs.insert(path);
    return {};
  }
  Status remove_tree(const std::string& path) override {
    if (refuses_removal(path)) return fail(fmt::format("remove {}: Permission denied", path));
    erase_below(files, path);
    erase_below(dirs, path);
    return {};
  }
  Status remove_file(const std::string& path) override {
    if (refuses_removal(path)) return fail(fmt::format("unlink {}: Permission denied", path));
    files.erase(path);
    return {};
  }
  Status rename(const std::string& from, const std::string& to) override {
    if (exists(to)) return fail(ErrorKind::Conflict, fmt::format("rename {} -> {}: the target exists", from, to));
    if (!exists(from)) return fail(ErrorKind::NotFound, fmt::format("rename {}: No such file or directory", from));
    auto moved = [&](const std::string& p) { return to + p.substr(from.size()); };
    auto under = [&](const std::string& p) { return p == from || p.rfind(from + "/", 0) == 0; };
    std::map<std::string, File> kept_files;
    for (auto& [p, f] : files) kept_files[under(p) ? moved(p) : p] = f;
    std::set<std::string> kept_dirs;
    for (const auto& d : dirs) kept_dirs.insert(under(d) ? moved(d) : d);
    files = std::move(kept_files);
    dirs = std::move(kept_dirs);
    return {};
  }
  Result<std::vector<std::string>> list_names(const std::string& dir) override {
    if (!dirs.count(dir)) return fail(fmt::format("open {}: No such file or directory", dir));
    std::set<std::string> names;
    auto add = [&](const std::string& p) {
      if (p.rfind(dir + "/", 0) == 0) names.insert(p.substr(dir.size() + 1, p.find('/', dir.size() + 1) - dir.size() - 1));
    };
    for (auto& [p, _] : files) add(p);
    for (auto& p : dirs) add(p);
    return std::vector<std::string>(names.begin(), names.end());
  }
  Result<std::vector<os::FileInfo>> list_files(const std::string& dir) override {
    std::vector<os::FileInfo> out;
    for (auto& [p, f] : files)
      if (p.rfind(dir + "/", 0) == 0 && p.find('/', dir.size() + 1) == std::string::npos)
        out.push_back({p.substr(dir.size() + 1), f.content.size(), f.mtime_s});
    return out;  // a map: already sorted by name
  }
  Result<std::unique_ptr<os::Lock>> lock(const std::string& path, const std::string& what, int,
                                         os::LockMode mode = os::LockMode::Exclusive) override {
    bool shared = mode == os::LockMode::Shared;
    if (locked.count(path) || (!shared && shared_locked.count(path)))
      return fail(ErrorKind::Conflict, fmt::format("{} is busy: another pgd command holds it; try again", what));
    return std::unique_ptr<os::Lock>(std::make_unique<HeldLock>(*this, path, shared));
  }

  // Copies every file and directory below `from` to below `to` (a clone).
  void copy_tree(const std::string& from, const std::string& to) {
    auto files_copy = files;
    for (auto& [p, f] : files_copy)
      if (p.rfind(from + "/", 0) == 0) files[to + p.substr(from.size())] = f;
    auto dirs_copy = dirs;
    for (auto& p : dirs_copy)
      if (p == from || p.rfind(from + "/", 0) == 0) dirs.insert(to + p.substr(from.size()));
  }
  // Names below `dir` (files and dirs), for "nothing left behind" checks.
  std::vector<std::string> below(const std::string& dir) const {
    std::vector<std::string> out;
    for (auto& [p, _] : files)
      if (p.rfind(dir + "/", 0) == 0) out.push_back(p);
    for (auto& p : dirs)
      if (p.rfind(dir + "/", 0) == 0) out.push_back(p);
    return out;
  }

 private:
  class HeldLock : public os::Lock {
   public:
    HeldLock(FakeFiles& files, std::string path, bool shared)
        : m_files(files), m_path(std::move(path)), m_shared(shared) {
      if (m_shared) m_files.shared_locked.insert(m_path);
      else m_files.locked.insert(m_path);
    }
    ~HeldLock() override {
      if (m_shared) m_files.shared_locked.erase(m_files.shared_locked.find(m_path));
      else m_files.locked.erase(m_path);
    }

   private:
    FakeFiles& m_files;
    std::string m_path;
    bool m_shared;
  };
  bool refuses_removal(const std::string& path) const {
    for (auto& p : fail_remove)
      if (p == path || p.rfind(path + "/", 0) == 0) return true;
    return false;
  }
  template <typename C>
  static void erase_below(C& c, const std::string& path) {
    for (auto it = c.begin(); it != c.end();) {
      const std::string& p = key_of(*it);
      it = p == path || p.rfind(path + "/", 0) == 0 ? c.erase(it) : std::next(it);
    }
  }
  static const std::string& key_of(const std::pair<const std::string, File>& kv) { return kv.first; }
  static const std::string& key_of(const std::string& s) { return s; }
};

// Processes: a set of live pids with names; signals are recorded, and SIGKILL
// or SIGQUIT ends the process (sleep_ms advances nothing and costs nothing).
class FakeProcesses : public os::Processes {
 public:
  std::map<pid_t, std::string> live{{100, "pgd"}};  // pid -> name; 100 is "us"
  std::vector<std::pair<pid_t, int>> signals;
  int slept_ms = 0;

  pid_t self() override { return 100; }
  bool alive(pid_t pid) override { return live.count(pid) > 0; }
  std::string name(pid_t pid) override { return live.count(pid) ? live[pid] : ""; }
  Status signal(pid_t pid, int sig) override {
    if (!live.count(pid)) return fail(fmt::format("kill {}: No such process", pid));
    signals.emplace_back(pid, sig);
    if (pid != self()) live.erase(pid);
    return {};
  }
  void sleep_ms(int ms) override { slept_ms += ms; }
  // A signal that arrives after `interrupt_after` checks (-1: never); once
  // arrived it stays, as the real one does.
  int interrupt_after = -1;
  int interrupt_checks = 0;
  int interrupted() override {
    if (interrupt_after < 0) return 0;
    return interrupt_checks++ >= interrupt_after ? SIGINT : 0;
  }
};

}  // namespace pgd::test
