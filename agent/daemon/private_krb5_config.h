// The Kerberos configuration of a sandboxed child of wardd (the fetch and key processes), read while
// the child is still root.
#pragma once

#include <string>

#include "common/expected.h"

namespace ward::agent::daemon {

// MIT Kerberos reads its configuration (KRB5_CONFIG, a colon-separated list, else /etc/krb5.conf)
// at every krb5_init_context; a child's uid may not be allowed to (a 0600 file, a private
// directory). Reads the files now and points KRB5_CONFIG at a private copy: a memfd reopened
// through /proc/self/fd, which its own process may always open. An error names the file; files
// that do not exist are skipped as MIT skips them.
Expected<void, std::string> keep_private_krb5_config();

}  // namespace ward::agent::daemon
