// Every file and directory pgd keeps under $PGD_HOME, named in one place.
//
//   state.db                 SQLite: pool, projects, branches (0600)
//   secrets/<project>.password   the project's superuser password (0600, dir 0700)
//   secrets/<project>.scram      its SCRAM verifier, for copies of a primary (0600)
//   logs/<project>/<branch>.log  server log of each branch
//   run/<port>/              each branch's private Unix socket directory (0700)
//   run/serve.sock           `pgd serve`'s control socket (0600)
//   locks/serve.lock         held by the running `pgd serve` (flock)
//   tmp/                     short-lived files (initdb's pwfile)
//   wal/<project>/<branch>/  each branch's WAL archive (0700, owned by the Postgres user)
//   bin/pgd-archive-wal      the archive command script (0755)
//   tls/<project>/           the project's CA and server certificate (see tls_dir)
//   replication/<project>/primary.pgpass  a following main's replication password
//                            (0600, dir 0700, both owned by the Postgres user)
//   locks/<project>.lock     held by a command changing the project (flock)
//   pool/                    default mount point of the embedded pool image
#pragma once

#include <string>

namespace pgd {

struct Paths {
  std::string home;

  std::string state_db() const { return home + "/state.db"; }
  std::string secrets_dir() const { return home + "/secrets"; }
  std::string password_file(const std::string& project) const {
    return secrets_dir() + "/" + project + ".password";
  }
  std::string replication_dir(const std::string& project) const {
    return home + "/replication/" + project;
  }
  std::string replication_passfile(const std::string& project) const {
    return replication_dir(project) + "/primary.pgpass";
  }
  // The SCRAM verifier of the project's password, for copies of a primary (0600).
  std::string verifier_file(const std::string& project) const {
    return secrets_dir() + "/" + project + ".scram";
  }
  std::string log_dir(const std::string& project) const { return home + "/logs/" + project; }
  std::string log_file(const std::string& project, const std::string& branch) const {
    return log_dir(project) + "/" + branch + ".log";
  }
  std::string socket_dir(int port) const { return home + "/run/" + std::to_string(port); }
  std::string serve_socket() const { return home + "/run/serve.sock"; }
  std::string serve_lock() const { return home + "/locks/serve.lock"; }
  std::string tmp_dir() const { return home + "/tmp"; }
  std::string default_mount() const { return home + "/pool"; }
  std::string wal_root() const { return home + "/wal"; }
  std::string wal_project_dir(const std::string& project) const { return wal_root() + "/" + project; }
  std::string wal_dir(const std::string& project, const std::string& branch) const {
    return wal_project_dir(project) + "/" + branch;
  }
  std::string archive_script() const { return home + "/bin/pgd-archive-wal"; }
  // The project's TLS files: ca.crt (0644), server.crt, server.key (0600, the
  // Postgres user's). The CA's key is discarded once the server cert is signed.
  std::string tls_dir(const std::string& project) const { return home + "/tls/" + project; }
  std::string lock_file(const std::string& project) const {
    return home + "/locks/" + project + ".lock";
  }
  // Held shared by each create of the project while it starts its server
  // without the project's lock, exclusively by every other holder of that lock
  // (core/operation.h). Never a project's lock file: those end in ".lock".
  std::string starts_lock_file(const std::string& project) const {
    return home + "/locks/" + project + ".starts";
  }
  std::string client_files_lock() const { return home + "/locks/client-files.lock"; }

  // $PGD_HOME, else /var/lib/pgd for root (Postgres, running as another user,
  // cannot reach into /root), else ~/.local/share/pgd.
  static Paths from_environment();
};

}  // namespace pgd
