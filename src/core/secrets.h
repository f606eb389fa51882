// The per-project superuser password: generated from the kernel's CSPRNG,
// kept in $PGD_HOME/secrets/<project>.password (0600, directory 0700), and
// handed to Postgres only through files and libpq parameters.
#pragma once

#include <string>

#include "base/result.h"
#include "os/files.h"
#include "state/paths.h"

namespace pgd {

Result<std::string> generate_password();
Status save_password(os::Files& files, const Paths& paths, const std::string& project, const std::string& password);
Result<std::string> load_password(os::Files& files, const Paths& paths, const std::string& project);
Status remove_password(os::Files& files, const Paths& paths, const std::string& project);

}  // namespace pgd
