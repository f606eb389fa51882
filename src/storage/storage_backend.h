// StorageBackend: where branch data directories live and how they are cloned.
//
// Contract: a volume is named by a relative path "<group>/<name>" (e.g. "prod/main")
// that core has validated; it maps to one directory, `path(volume)`. `clone` makes
// an independent, writable, copy-on-write copy of a volume. Where
// `atomic_clone()` holds, the copy is atomic with respect to concurrent writers
// of the source (a crash-consistent point in time), so a running Postgres can be
// cloned after a CHECKPOINT; elsewhere files are cloned one at a time and the
// caller must make the copy consistent itself (core uses PostgreSQL's online
// backup protocol). Clones do not depend on their source: destroying either
// leaves the other intact.
// A backend knows nothing of Postgres. Errors name the operation and the paths.
// Thread-safety: none; separate processes may use the same pool concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace pgd {

enum class Access { ReadWrite, ReadOnly };
// Whether files in new volumes are copied on every write or rewritten in place
// until a clone shares them (then copied once).
enum class CopyOnWrite { AfterSnapshotOnly, Always };

struct VolumeUsage {
  uint64_t total_bytes = 0;
  uint64_t exclusive_bytes = 0;
};

class StorageBackend {
 public:
  virtual ~StorageBackend() = default;
  virtual std::string kind() const = 0;
  virtual std::string root() const = 0;
  virtual std::string path(const std::string& volume) const = 0;
  virtual bool exists(const std::string& volume) const = 0;
  // An empty writable volume. Fails if it exists.
  virtual Status create_volume(const std::string& volume) = 0;
  // A copy-on-write clone of `source` at `target`. Fails if target exists.
  virtual Status clone(const std::string& source, const std::string& target, Access access) = 0;
  // Whether `clone` copies a point in time (see the contract above).
  virtual bool atomic_clone() const { return true; }
  // Replaces everything under `target`/`dir` with clones of `source`/`dir` as
  // they are now; a file that vanishes meanwhile is skipped. For backends
  // without atomic clones: brings a directory written during the clone up to date.
  virtual Status clone_dir(const std::string& source, const std::string& target,
                           const std::string& dir);
  // Makes a writable volume read-only (as clone(..., ReadOnly) would have).
  virtual Status set_read_only(const std::string& volume) = 0;
  // Atomically renames a volume within the pool. Fails if `to` exists.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Removes a volume, or an empty group directory; a missing one is success.
  virtual Status destroy(const std::string& volume) = 0;
  // Bytes the volume references, and those it alone uses (shared with no other).
  virtual Result<VolumeUsage> usage(const std::string& volume) = 0;
  // usage() of several volumes at once (one pass where the backend can); a
  // volume whose usage is unknown is left out.
  virtual std::map<std::string, VolumeUsage> usage_of(const std::vector<std::string>& volumes) {
    std::map<std::string, VolumeUsage> out;
    for (const auto& v : volumes)
      if (auto u = usage(v)) out[v] = *u;
    return out;
  }
  // Bytes still free for new data in the pool.
  virtual Result<uint64_t> free_bytes() = 0;
  // Every volume under the root, as "<group>/<name>".
  virtual Result<std::vector<std::string>> list() = 0;
};

// The "<group>/<name>" of every directory two levels below `root` (groups whose
// names start with '.' skipped) for which `is_volume(path)` holds: list()'s walk.
Result<std::vector<std::string>> list_volumes(const std::string& root,
                                              const std::function<bool(const std::string&)>& is_volume);

// The registry: the backend for `kind` ("btrfs" or "xfs") rooted at `root`.
// Fails with a message saying what to do when `root` does not suit the kind.
Result<std::unique_ptr<StorageBackend>> open_storage(const std::string& kind,
                                                     const std::string& root,
                                                     CopyOnWrite cow = CopyOnWrite::AfterSnapshotOnly);

}  // namespace pgd
