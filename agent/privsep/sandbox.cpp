#include "agent/privsep/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

namespace ward::agent::privsep {
namespace {

// A comparison of the first argument. libseccomp's SCMP_A0 macro is a C99 compound literal,
// which clang refuses in C++ under -Wpedantic.
scmp_arg_cmp first_argument(scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  scmp_arg_cmp compare{};
  compare.arg = 0;
  compare.op = op;
  compare.datum_a = a;
  compare.datum_b = b;
  return compare;
}

std::string failed(std::string_view step, int error) {
  return std::string(step) + ": " + std::strerror(error);
}

// Empties the bounding set when we hold CAP_SETPCAP; without it (the packaged unit) the calls fail
// with EPERM and no_new_privs makes the bounding set irrelevant anyway.
void drop_bounding_set() {
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EPERM) return;
  }
}

Expected<void, std::string> clear_capabilities() {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return unexpected(failed("clearing ambient capabilities", errno));
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, data) != 0) return unexpected(failed("capset (clearing every capability)", errno));
  return {};
}

using FilterPtr = std::unique_ptr<void, void (*)(scmp_filter_ctx)>;

Expected<void, std::string> deny(scmp_filter_ctx filter, const char* name, std::uint32_t action,
                                 std::vector<scmp_arg_cmp> args = {}) {
  const int number = seccomp_syscall_resolve_name(name);
  if (number == __NR_SCMP_ERROR) return {};   // not on this architecture (e.g. iopl on arm64)
  const int rc = seccomp_rule_add_array(filter, action, number, static_cast<unsigned>(args.size()), args.data());
  if (rc != 0) return unexpected("seccomp rule for " + std::string(name) + ": " + std::strerror(-rc));
  return {};
}

Expected<void, std::string> load_seccomp(NetworkSockets sockets) {
  FilterPtr filter(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
  if (!filter) return unexpected(std::string("seccomp_init failed"));
  const auto eperm = SCMP_ACT_ERRNO(EPERM);
  static constexpr const char* kDenied[] = {
      "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
      "chroot", "move_mount", "open_tree", "fsopen", "fsmount", "fspick", "unshare", "setns", "bpf",
      "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
      "swapon", "swapoff", "acct", "keyctl", "add_key", "request_key", "userfaultfd", "open_by_handle_at",
      "name_to_handle_at", "iopl", "ioperm", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
      "setgroups", "setfsuid", "setfsgid", "capset", "personality", "quotactl", "settimeofday", "clock_settime",
      "adjtimex", "clock_adjtime", "sethostname", "setdomainname", "mknod", "mknodat", "pidfd_getfd",
  };
  for (const char* name : kDenied) {
    if (auto d = deny(filter.get(), name, eperm); !d) return d;
  }
  // clone3 takes its flags behind a pointer, which seccomp cannot read: ENOSYS makes glibc use
  // clone, whose flags it can.
  if (auto d = deny(filter.get(), "clone3", SCMP_ACT_ERRNO(ENOSYS)); !d) return d;
  static constexpr scmp_datum_t kNamespaceFlags[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWNET,    CLONE_NEWPID,
                                                      CLONE_NEWIPC,  CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME};
  for (const scmp_datum_t flag : kNamespaceFlags) {
    if (auto d = deny(filter.get(), "clone", eperm, {first_argument(SCMP_CMP_MASKED_EQ, flag, flag)}); !d) return d;
  }
  // socket(domain, ...): every family but the allowed ones is refused. libseccomp takes one
  // comparison per argument and rule, so: one rule for the families above the highest allowed,
  // one per family below it that is not allowed.
  const int highest = sockets == NetworkSockets::Internet ? AF_INET6 : AF_UNIX;
  if (auto d = deny(filter.get(), "socket", eperm, {first_argument(SCMP_CMP_GT, static_cast<scmp_datum_t>(highest))}); !d) return d;
  for (int family = 0; family < highest; ++family) {
    if (family == AF_UNIX || (sockets == NetworkSockets::Internet && family == AF_INET)) continue;
    if (auto d = deny(filter.get(), "socket", eperm, {first_argument(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family))}); !d) return d;
  }
  // socketpair(AF_UNIX) only.
  if (auto d = deny(filter.get(), "socketpair", eperm, {first_argument(SCMP_CMP_NE, AF_UNIX)}); !d) return d;
  if (const int rc = seccomp_load(filter.get()); rc != 0) return unexpected("seccomp_load: " + std::string(std::strerror(-rc)));
  return {};
}

}  // namespace

Expected<Identity, std::string> identity_of(const std::string& user) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const int rc = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0) return unexpected("looking up user '" + user + "': " + std::strerror(rc));
  if (found == nullptr) return unexpected("user '" + user + "' does not exist (ward.conf [privsep] user)");
  if (found->pw_uid == 0 || found->pw_gid == 0) {
    return unexpected("user '" + user + "' is root or in group root: an unprivileged process needs its own user");
  }
  return Identity{found->pw_uid, found->pw_gid, user};
}

Expected<void, std::string> enter_sandbox(const SandboxOptions& options) {
  const auto& id = options.identity;
  if (id.uid == 0 || id.gid == 0) return unexpected(std::string("refusing to sandbox as root"));
  drop_bounding_set();
  const gid_t groups[] = {id.gid};
  if (setgroups(1, groups) != 0) return unexpected(failed("setgroups", errno));
  if (setresgid(id.gid, id.gid, id.gid) != 0) return unexpected(failed("setresgid " + std::to_string(id.gid), errno));
  if (setresuid(id.uid, id.uid, id.uid) != 0) return unexpected(failed("setresuid " + std::to_string(id.uid), errno));
  if (setuid(0) == 0) return unexpected(std::string("setuid(0) succeeded after dropping to ") + id.user);
  if (auto c = clear_capabilities(); !c) return c;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return unexpected(failed("PR_SET_NO_NEW_PRIVS", errno));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return unexpected(failed("PR_SET_DUMPABLE", errno));
  return load_seccomp(options.sockets);
}

}  // namespace ward::agent::privsep
