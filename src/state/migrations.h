// The state database's schema, as the list of steps that build it: entry i
// moves the schema from version i to i + 1 (PRAGMA user_version). Append only:
// a released step never changes, so every older database migrates forward.
#pragma once

#include <vector>

namespace pgd {

const std::vector<const char*>& schema_migrations();

}  // namespace pgd
