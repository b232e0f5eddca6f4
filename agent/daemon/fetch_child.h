// wardd's directory fetcher as a process of its own: `wardd --privsep-child fetch --user USER`,
// started (and restarted) by FetchProcess (fetch_process.h). It enters its sandbox (the user's
// uid and gid, no capabilities, no_new_privs, seccomp: no exec, no netlink or raw sockets, but
// AF_INET/AF_INET6 to reach the directory and the KDC), then runs a DirectorySource for each
// kFetch: bind, scope, read and decode the policy, and answers with the policy as JSON, its source,
// the scope report and the fetch's log events (fetch_wire.h).
//
// After kWatch it also runs the change watch (change_watcher.h) on a thread of its own, on the
// connection its fetches use (one connection and one bind per host, as wardd without privsep),
// filtered by what its last fetch read; each refresh the watch asks for becomes a kWatchChange note
// (why, and the DNs in scope), its events kWatchLog notes. Its reconnects bind with the newest
// ticket: a kFetch's or a kKeep's, which wardd sends before the last one expires.
//
// It never reads the keytab: with GSSAPI each request carries the TGT wardd's key process obtained
// from it
// (krb5_marshal_credentials), which the child puts in a MEMORY ccache of its own and binds with
// (asking the KDC for the ldap/ service ticket itself). With a simple bind the password comes in
// kConfigure (wardd reads the root-only file). The Kerberos configuration (KRB5_CONFIG or
// /etc/krb5.conf) is copied into a private memfd before the sandbox: the same KDCs as wardd's,
// whatever the file's permissions.
#pragma once

#include <string>

namespace ward::agent::daemon {

// The process's main; returns its exit status.
int run_fetch_child(const std::string& user);

}  // namespace ward::agent::daemon
