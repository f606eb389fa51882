// TLS for branches: one self-signed CA and server certificate per project
// (every branch listens on 127.0.0.1, so one certificate fits them all).
// Clients use sslmode=require, or verify-full with the project's ca.crt.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/context.h"

namespace pgd {

// $PGD_HOME/tls/<project>/ca.crt: what sslrootcert= names.
std::string ca_cert_path(const Paths& paths, const std::string& project);
bool has_certificates(os::Files& files, const Paths& paths, const std::string& project);
// Makes the project's certificates when they are missing (projects made before
// pgd had TLS get theirs at their next create/reset/start).
Status ensure_certificates(Context& ctx, const std::string& project);
// ssl = on and the file settings, when the project has certificates.
std::vector<std::pair<std::string, std::string>> tls_settings(os::Files& files, const Paths& paths,
                                                              const std::string& project);

}  // namespace pgd
