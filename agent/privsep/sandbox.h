// The sandbox an unprivileged part of wardd enters once it has what it needs from the parent (as
// OpenBSD iked's ikev2 and ca processes do after proc_init: chroot, setgroups, setresgid,
// setresuid, pledge). Linux has no pledge; the equivalent here is, in this order:
//
//   bounding set emptied      where wardd may (CAP_SETPCAP; not under the packaged unit, whose
//                             NoNewPrivileges= makes the bounding set moot)
//   setgroups, setresgid,     the process's own user (ward.conf [privsep] user): real, effective
//   setresuid                 and saved ids, so it cannot switch back; setuid(0) is then checked
//                             to fail
//   capabilities cleared      permitted, effective, inheritable and ambient (a switch between two
//                             non-zero uids would keep them)
//   no_new_privs, !dumpable   no exec may grant anything; other processes of that uid cannot
//                             ptrace it or read its memory
//   seccomp                   a deny list (libseccomp), EPERM for what a protocol engine never
//                             needs: exec, ptrace and process_vm_*, mount and namespaces (unshare,
//                             setns, clone with CLONE_NEW*; clone3 answers ENOSYS so that glibc
//                             falls back to clone), module and kexec loading, bpf, perf, keyrings,
//                             every uid/gid/capability change, and new sockets other than AF_UNIX
//                             (NetworkSockets::Inherited: it uses the sockets the parent passed)
//                             or other than AF_UNIX/INET/INET6 (NetworkSockets::Internet).
//
// A deny list, not an allow list: the engines run OpenSSL, MIT Kerberos and glibc's resolver,
// whose exact system calls change between releases; what is listed is what an attacker who took
// over the process would want next, and everything else is already limited by the uid.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/expected.h"

namespace ward::agent::privsep {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;   // for messages
};

// The uid and primary gid of `user` ("_ward", "nobody"). Refuses root and unknown users.
Expected<Identity, std::string> identity_of(const std::string& user);

enum class NetworkSockets : std::uint8_t {
  Inherited,   // no new sockets but AF_UNIX: the IKE engine's UDP sockets come from the parent
  Internet,    // AF_UNIX, AF_INET, AF_INET6 (a directory fetcher); never AF_NETLINK or AF_PACKET
};

struct SandboxOptions {
  Identity identity;
  NetworkSockets sockets = NetworkSockets::Inherited;
};

// Irreversible. An error names the step that failed and errno; the caller must then exit (a
// half-entered sandbox is not one).
Expected<void, std::string> enter_sandbox(const SandboxOptions& options);

}  // namespace ward::agent::privsep
