// The check wardd makes of every file that holds a secret before it reads one: the [directory]
// keytab and password_file, the [certificates] private_key, the [monitor] tls_key, and a local
// policy file that holds a preshared key. As ssh does for private keys, a secret others could
// read (or change) is refused, with the file, its mode, owner and group, and the command that fixes it.
//
// The rules (README "Files holding secrets"):
//   - a regular file (a symbolic link is followed: what counts is the file it names);
//   - owned by the user who reads it (root for wardd) or by root: another owner could replace
//     the key, so such a file is refused ("chown root FILE");
//   - no permission bit for group or others (mode 0600 or 0400), whatever the group, a dedicated
//     one included: whoever is in the group could read the host's key, and wardd cannot vouch for
//     the group's members ("chmod 600 FILE"; a program that needs the same key gets its own copy
//     or, better, its own key).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace ward::agent::config {

// `what` names the file's role in messages, e.g. "[directory] keytab". The error reads:
// "[directory] keytab /etc/krb5.keytab is readable by others (mode 0644, owner root, group root):
// it holds a secret, so wardd refuses it; make it readable by its owner only: chmod 600 /etc/krb5.keytab".
Expected<void, std::string> check_secret_file(const std::filesystem::path& path, std::string_view what);

}  // namespace ward::agent::config
