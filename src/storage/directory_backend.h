// What the btrfs and reflink backends share: volumes are directories
// "<root>/<group>/<name>", renamed and listed the same way, and the pool's
// free space is its filesystem's.
#pragma once

#include <string>

#include "storage/storage_backend.h"

namespace pgd {

class DirectoryBackend : public StorageBackend {
 public:
  explicit DirectoryBackend(std::string root) : m_root(std::move(root)) {}
  std::string root() const override { return m_root; }
  std::string path(const std::string& volume) const override { return m_root + "/" + volume; }
  bool exists(const std::string& volume) const override;
  // Atomic within the pool; fails (Conflict) if `to` exists.
  Status rename(const std::string& from, const std::string& to) override;
  Result<uint64_t> free_bytes() override;

 protected:
  // Creates the volume's group directory if missing.
  Status make_parent(const std::string& volume);

 private:
  std::string m_root;
};

}  // namespace pgd
