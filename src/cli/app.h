// The entry point of the command-line program.
#pragma once

namespace pgd::cli {

// Parses argv, runs one command, returns the exit code:
// 0 success, 1 failure, 2 usage error (bad flags, invalid names).
int run(int argc, char** argv);

}  // namespace pgd::cli
