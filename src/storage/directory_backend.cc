#include "storage/directory_backend.h"

#include <filesystem>

#include <fmt/format.h>

#include "os/fs.h"

namespace pgd {

bool DirectoryBackend::exists(const std::string& volume) const { return os::exists(path(volume)); }

Status DirectoryBackend::make_parent(const std::string& volume) {
  std::string parent = std::filesystem::path(path(volume)).parent_path().string();
  if (os::exists(parent)) return {};
  return os::make_dirs(parent, 0755);
}

Status DirectoryBackend::rename(const std::string& from, const std::string& to) {
  std::string a = path(from), b = path(to);
  if (os::exists(b)) return fail(ErrorKind::Conflict, fmt::format("rename {} -> {}: target exists", a, b));
  return os::rename_path(a, b);
}

Result<uint64_t> DirectoryBackend::free_bytes() {
  TRY_ASSIGN(os::FsUsage usage, os::filesystem_usage(m_root));
  return usage.free_bytes;
}

}  // namespace pgd
