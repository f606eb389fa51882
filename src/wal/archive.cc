#include "wal/archive.h"


#include <fmt/format.h>


namespace pgd::wal {

std::string archive_script() {
  return R"sh(#!/bin/sh
# pgd WAL archive command. Written by pgd; do not edit.
# Usage: pgd-archive-wal %p %f ARCHIVE_DIR   (run by Postgres in its data directory)
set -eu
src=$1 name=$2 dir=$3
dst="$dir/$name"
if [ -e "$dst" ]; then
  # A retry after a crash: success only if the archived copy is identical.
  if cmp -s "$src" "$dst"; then exit 0; fi
  echo "pgd-archive-wal: $dst already exists with different content; refusing to overwrite" >&2
  exit 1
fi
tmp="$dir/.$name.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cp "$src" "$tmp"
sync "$tmp"        # fsync the copy
mv "$tmp" "$dst"   # rename(2): the segment appears whole or not at all
trap - EXIT
sync "$dir"        # fsync the directory entry
)sh";
}

std::string archive_command(const std::string& script_path, const std::string& archive_dir) {
  return fmt::format("{} %p %f {}", script_path, archive_dir);
}

std::string restore_command(const std::string& archive_dir, const std::string& fallback_wal_dir) {
  return fmt::format("cp {}/%f %p 2>/dev/null || cp {}/%f %p 2>/dev/null", archive_dir,
                     fallback_wal_dir);
}

}  // namespace pgd::wal
