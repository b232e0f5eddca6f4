// wardd's key process: `wardd --privsep-child keys --user USER`, started (and restarted) by
// KeyProcess (key_process.h), as OpenBSD iked's `ca` process. It enters its sandbox first (the
// user's uid and gid, no capabilities, no_new_privs, seccomp with no socket family but AF_UNIX: it
// cannot reach any network), then holds what wardd hands it over its channel and answers the
// narrow calls of key_wire.h: SKEYID from a preshared key by handle, and RSA signatures of main
// mode hashes with the certificate's private key, which it reads from a descriptor of the key
// file that wardd (root) opened, and which exists nowhere else once read; and, the same way, the
// host keytab, with which it runs the Kerberos acceptor's GSS-API steps (key_gss.h).
#pragma once

#include <string>

namespace ward::agent::daemon {

// The process's main; returns its exit status.
int run_key_child(const std::string& user);

}  // namespace ward::agent::daemon
