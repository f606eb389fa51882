#include "cli/app.h"

int main(int argc, char** argv) { return pgd::cli::run(argc, argv); }
