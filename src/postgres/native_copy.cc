#include "postgres/native_copy.h"

#include <signal.h>

#include <fmt/format.h>

#include "base/strings.h"
#include "os/process.h"

namespace pgd {
// What a failed tool said about its failure: its error lines (the tools
// write "pg_dump: error: ..." and "detail: ..."), else its last lines; the
// verbose progress lines of a run would bury them.
std::string tool_error_tail(const std::string& output, size_t keep) {
  std::vector<std::string> errors, last;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = trim(output.substr(start, end - start));
    start = end + 1;
    if (line.empty()) continue;
    last.push_back(line);
    if (line.find("error") != std::string::npos || line.find("detail:") != std::string::npos ||
        line.find("FATAL") != std::string::npos || line.find("ERROR") != std::string::npos)
      errors.push_back(line);
  }
  const auto& chosen = errors.empty() ? last : errors;
  size_t from = chosen.size() > keep ? chosen.size() - keep : 0;
  return join(std::vector<std::string>(chosen.begin() + static_cast<std::ptrdiff_t>(from), chosen.end()), "\n");
}

namespace {

std::string tool(int pg_version, const std::string& name) {
  return fmt::format("/usr/lib/postgresql/{}/bin/{}", pg_version, name);
}

std::vector<std::pair<std::string, std::string>> env_for(const Endpoint& endpoint) {
  std::vector<std::pair<std::string, std::string>> env;
  if (!endpoint.password.empty()) env.emplace_back("PGPASSWORD", endpoint.password);
  return env;
}

// Messages in English whatever the caller's locale, so progress can be read.
os::RunOptions options_for(const Watch* watch) {
  os::RunOptions o;
  o.env.emplace_back("LC_MESSAGES", "C");
  if (watch && watch->keep_going) o.on_tick = watch->keep_going;
  return o;
}

std::string program(const std::vector<std::string>& argv) {
  return argv[0].substr(argv[0].rfind('/') + 1);
}

// Splits each pipeline's output into lines for watch.on_line.
class LineSplitter {
 public:
  LineSplitter(const Watch& watch, size_t pipelines) : m_watch(watch), m_pending(pipelines) {}
  void operator()(size_t i, std::string_view chunk) {
    if (!m_watch.on_line) return;
    m_pending[i].append(chunk);
    size_t end;
    while ((end = m_pending[i].find('\n')) != std::string::npos) {
      m_watch.on_line(m_pending[i].substr(0, end));
      m_pending[i].erase(0, end + 1);
    }
  }

 private:
  const Watch& m_watch;
  std::vector<std::string> m_pending;
};

// Runs the pipelines; the first failure (the earliest command of a pipeline
// that failed: pg_dump's error explains pg_restore's) becomes the error.
Status run_watched(const std::vector<std::vector<os::Command>>& pipelines, const Endpoint& endpoint,
                   const Watch* watch) {
  Watch none;
  LineSplitter lines(watch ? *watch : none, pipelines.size());
  auto results = os::run_pipelines(pipelines, options_for(watch), std::ref(lines));
  if (!results) return fail(results.error().wrap(endpoint.label));
  for (size_t p = 0; p < results->size(); ++p) {
    const auto& r = (*results)[p];
    for (size_t c = 0; c < r.exit_codes.size(); ++c) {
      if (r.exit_codes[c] == 0) continue;
      if (watch && watch->keep_going && r.exit_codes[c] == 128 + SIGTERM && !watch->keep_going())
        return fail(ErrorKind::Interrupted, fmt::format("{}: {} stopped", endpoint.label,
                                                        program(pipelines[p][c].argv)));
      return fail(fmt::format("{}: {} failed (exit {}): {}", endpoint.label,
                              program(pipelines[p][c].argv), r.exit_codes[c], tool_error_tail(r.output)));
    }
  }
  return {};
}

Status run_one(const std::vector<std::string>& argv, const Endpoint& endpoint, const Watch* watch) {
  return run_watched({{os::Command{argv, env_for(endpoint)}}}, endpoint, watch);
}

}  // namespace

Result<std::unique_ptr<pg::Session>> NativeCopier::connect(const Endpoint& source, int timeout_s) {
  pg::ConnectParams params;
  params.conninfo = source.conninfo;
  params.password = source.password;
  params.label = source.label;
  params.connect_timeout_s = timeout_s;
  TRY_ASSIGN(pg::Connection conn, pg::Connection::open(params));
  return std::unique_ptr<pg::Session>(std::make_unique<pg::Connection>(std::move(conn)));
}

Result<std::string> NativeCopier::dump_roles(int pg_version, const Endpoint& source) {
  std::vector<std::string> argv{tool(pg_version, "pg_dumpall"), "--roles-only",
                                "--no-role-passwords", "--dbname=" + source.conninfo};
  os::RunOptions o = options_for(nullptr);
  o.env = env_for(source);
  o.env.emplace_back("LC_MESSAGES", "C");
  auto r = os::run(argv, o);
  if (!r) return fail(r.error().wrap(source.label));
  if (r->exit_code != 0)
    return fail(fmt::format("{}: pg_dumpall --roles-only failed (exit {}): {}", source.label,
                            r->exit_code, tool_error_tail(r->output)));
  return r->output;
}

Status NativeCopier::run_sql_file(int pg_version, const Endpoint& target, const std::string& path) {
  return run_one({tool(pg_version, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                  "--dbname=" + target.conninfo, "--file=" + path},
                 target, nullptr);
}

Status NativeCopier::dump_schema(int pg_version, const Endpoint& source, const std::string& snapshot,
                                 const std::string& file) {
  return run_one({tool(pg_version, "pg_dump"), "--format=custom", "--schema-only",
                  "--snapshot=" + snapshot, "--file=" + file, "--dbname=" + source.conninfo},
                 source, nullptr);
}

Status NativeCopier::dump_schema_plain(int pg_version, const Endpoint& source, const std::string& file) {
  return run_one({tool(pg_version, "pg_dump"), "--schema-only", "--no-password", "--file=" + file,
                  "--dbname=" + source.conninfo},
                 source, nullptr);
}

Status NativeCopier::restore_schema(int pg_version, const Endpoint& target, const std::string& file,
                                    Section section, int jobs, bool create, const Watch& watch) {
  std::vector<std::string> argv{tool(pg_version, "pg_restore"), "--verbose", "--exit-on-error",
                                section == Section::PreData ? "--section=pre-data" : "--section=post-data",
                                fmt::format("--jobs={}", jobs), "--dbname=" + target.conninfo};
  if (create) argv.push_back("--create");
  argv.push_back(file);
  return run_one(argv, target, &watch);
}

Status NativeCopier::copy_data(int pg_version, const Endpoint& source, const std::string& snapshot,
                               const Endpoint& target, const std::vector<TableGroup>& groups,
                               const Watch& watch) {
  std::vector<std::vector<os::Command>> pipelines;
  const std::vector<std::string> dump{tool(pg_version, "pg_dump"), "--data-only", "--verbose",
                                      "--snapshot=" + snapshot, "--dbname=" + source.conninfo};
  for (const auto& group : groups) {
    // Plain SQL into one transaction that truncates the tables first: their
    // rows then go to new files that wal_level = minimal does not WAL-log
    // (pg_restore does the same only for tables it created in the same run).
    std::vector<std::string> dump_group = dump;
    for (const auto& t : group) dump_group.insert(dump_group.end(), {"--table", t});
    std::vector<std::string> load{tool(pg_version, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                  "--single-transaction", "--dbname=" + target.conninfo,
                                  "--command=TRUNCATE ONLY " + join(group, ", "), "--file=-"};
    pipelines.push_back({os::Command{dump_group, env_for(source)}, os::Command{load, env_for(target)}});
  }
  // Sequence values, large objects, extensions' configuration rows: all but
  // the rows above (a wildcard would leave out the sequences too).
  std::vector<std::string> rest = dump;
  rest.insert(rest.end(), {"--format=custom", "--compress=0"});
  for (const auto& group : groups)
    for (const auto& t : group) rest.push_back("--exclude-table-data=" + t);
  std::vector<std::string> restore{tool(pg_version, "pg_restore"), "--exit-on-error",
                                   "--dbname=" + target.conninfo};
  pipelines.push_back({os::Command{rest, env_for(source)}, os::Command{restore, env_for(target)}});
  return run_watched(pipelines, source, &watch);
}

}  // namespace pgd
