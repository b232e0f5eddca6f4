// A Linux kernel with ESP for tests, on a host kernel without it: Debian's User-mode Linux
// (`linux.uml`, kernel 6.1 run as an ordinary process, no virtualisation), booted with the host's
// root file system as its root (hostfs: the host's binaries and the build tree are visible inside,
// read-write) and an init script written here. Recipe and traps: /work/shared/reference/
// uml-kernel-esp.md; what this class adds to it:
//
//  - Modules are loaded by ward-uml-modload (finit_module(2) per file, dependencies resolved here
//    from modules.dep): kmod's insmod/modprobe fail inside UML with "Invalid parameters" before
//    making any system call, and the kernel's own module requests are pointed at /bin/true.
//  - linux.uml 6.1 restores a process's FPU/vector state with PTRACE_SETREGSET(NT_X86_XSTATE) and
//    a 2696-byte buffer; hosts whose XSAVE area is larger (AMX: 11008 bytes) refuse that with
//    EFAULT and the UML kernel panics at its first process. linux.uml runs with
//    libward-uml-xstate.so preloaded (uml_xstate_shim.cpp), which hands the host the whole area.
//  - /run, /dev/shm and /var/run are tmpfs inside, so `ip netns add` and sockets there never reach
//    the host; files written anywhere else (the test's temp dir) land on the host.
//  - AddressSanitizer cannot run inside (its shadow needs a 47-bit address space; UML gives a
//    process 0x7fc0000000 bytes): see ward::test::uml_unavailable().
//
// One run = one boot: the script runs as a child of init, its exit status comes back through a
// file in the run directory, and `halt -f` ends the kernel. The host side waits for the UML
// process (its pid, and its process group for the helper processes it forks) and kills it when
// the time limit passes.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "tests/harness/process.h"

namespace ward::test {

inline constexpr const char* kUmlKernel = "/usr/bin/linux.uml";
inline constexpr const char* kUmlModules = "/usr/lib/uml/modules";

// What Ward's IPsec tests need inside: XFRM with ESP and AH (IPv4 and IPv6, transport and
// tunnel), the kernel crypto those SAs name (AES-GCM, AES-CBC, 3DES, HMAC-SHA1/SHA2/MD5), veth,
// and iptables' raw table with the policy match.
std::vector<std::string> default_uml_modules();

struct UmlOptions {
  std::vector<std::string> modules = default_uml_modules();  // names as in modules.dep, dependencies added
  std::string script;                     // sh commands run inside, from the run directory
  Environment environment;                // exported inside before the script runs
  unsigned memory_mb = 768;
  std::chrono::seconds limit{540};        // then the UML process is killed
};

struct UmlRun {
  int exit_status = -1;                   // the script's; -1 when it never finished (see console)
  std::filesystem::path output;           // the script's stdout and stderr
  std::filesystem::path console;          // the UML kernel's console (boot messages, panics)
  std::chrono::milliseconds boot{0};      // linux.uml started -> modules loaded, script starting
  std::chrono::milliseconds total{0};     // linux.uml started -> halted
  bool timed_out = false;
  std::string describe() const;           // for failure messages: status, times, console tail
};

// Why UML cannot run here (not installed, no modules, an ASan build), or nothing.
std::optional<std::string> uml_unavailable();

// The .ko files for `names` and everything they depend on, in load order.
Expected<std::vector<std::filesystem::path>, HarnessError> uml_module_files(const std::vector<std::string>& names);

// Boots the kernel in `run_dir` (an existing directory on the host, e.g. a TempDir), runs the
// script and waits for the kernel to halt.
Expected<UmlRun, HarnessError> run_in_uml(const UmlOptions& options, const std::filesystem::path& run_dir);

// True in a process started by run_in_uml (WARD_INSIDE_UML is set in its environment).
bool inside_uml();

}  // namespace ward::test
