#include "state/migrations.h"

namespace pgd {
namespace {

// Each entry moves the schema from version i to i+1.
const std::vector<const char*> k_migrations = {
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  pg_version INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE branches (
  project TEXT NOT NULL REFERENCES projects(name),
  name TEXT NOT NULL,
  parent TEXT,
  port INTEGER NOT NULL UNIQUE,
  state TEXT NOT NULL,
  volume TEXT NOT NULL,
  created_at TEXT NOT NULL,
  pg_version INTEGER NOT NULL,
  PRIMARY KEY (project, name)
);
)sql",
    R"sql(
CREATE TABLE snapshots (
  id TEXT PRIMARY KEY,
  project TEXT NOT NULL,
  branch TEXT NOT NULL,
  label TEXT,
  created_us INTEGER NOT NULL,
  lsn TEXT NOT NULL,
  redo_lsn TEXT NOT NULL,
  volume TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  FOREIGN KEY (project, branch) REFERENCES branches(project, name),
  UNIQUE (project, branch, label)
);
)sql",
    R"sql(
CREATE TABLE intents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  op TEXT NOT NULL,
  subject TEXT NOT NULL,
  step TEXT NOT NULL,
  started_at TEXT NOT NULL,
  pid INTEGER NOT NULL
);
)sql",
    R"sql(
ALTER TABLE snapshots ADD COLUMN kind TEXT NOT NULL DEFAULT 'manual';
)sql",
    // Imported projects: where from (never with a password), when, and the
    // database that branches name in their connection details.
    R"sql(
ALTER TABLE projects ADD COLUMN database TEXT NOT NULL DEFAULT 'postgres';
ALTER TABLE projects ADD COLUMN source TEXT;
ALTER TABLE projects ADD COLUMN copied_at TEXT;
)sql",
    // Projects whose main follows a primary.
    R"sql(
ALTER TABLE projects ADD COLUMN primary_source TEXT;
ALTER TABLE projects ADD COLUMN slot TEXT;
ALTER TABLE projects ADD COLUMN slot_owned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN promoted_at TEXT;
ALTER TABLE branches ADD COLUMN as_of TEXT;
)sql",
    // What `pgd serve` carries out: expiry, idle stop, protection, schedules.
    R"sql(
ALTER TABLE branches ADD COLUMN expires_at TEXT;
ALTER TABLE branches ADD COLUMN idle_stop_s INTEGER;
ALTER TABLE branches ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN idle_stop_s INTEGER;
ALTER TABLE projects ADD COLUMN snapshot_every_s INTEGER;
ALTER TABLE projects ADD COLUMN keep_snapshots_s INTEGER;
ALTER TABLE projects ADD COLUMN keep_wal_s INTEGER;
)sql",
};

}  // namespace

const std::vector<const char*>& schema_migrations() { return k_migrations; }

}  // namespace pgd
