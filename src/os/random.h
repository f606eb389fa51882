// Randomness from the kernel's CSPRNG (getrandom(2)).
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"

namespace pgd::os {

Result<std::string> random_bytes(size_t count);

}  // namespace pgd::os
