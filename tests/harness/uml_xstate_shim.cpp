// libward-uml-xstate.so, preloaded into linux.uml by the harness (uml_kernel.h): makes User-mode
// Linux 6.1 save and restore its processes' whole FPU/vector state on hosts whose XSAVE area is
// larger than the 2696 bytes it was built for (AMX: 11008).
//
// UML saves a process's registers at every stop with PTRACE_GETREGSET(NT_X86_XSTATE) and restores
// them with PTRACE_SETREGSET, both with its own 2696-byte buffer. The host kernel accepts a shorter
// buffer for GET (it truncates) but requires the whole standard-format area for SET
// (arch/x86/kernel/fpu/regset.c: count != fpu_user_cfg.max_size -> EFAULT), so UML panics at its
// first process ("userspace - ptrace set fp regs failed, errno = 14"). Here SET is given the whole
// area: UML's bytes, then zeros, with the components that lie beyond UML's buffer (AMX tile
// configuration and data) marked as in their initial state; nothing inside UML uses AMX. GET goes
// through the same whole-area buffer so that its size is known.
//
// (The other known workaround, UML falling back to PTRACE_GETFPREGS/SETFPREGS, keeps only the
// 512-byte FXSAVE area: processes inside then lose vector state across page faults, which showed
// as zeroed bytes in copied strings and printf printing its format.)
#include <cpuid.h>
#include <dlfcn.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdarg>
#include <cstdint>
#include <cstring>

namespace {

using Ptrace = long (*)(enum __ptrace_request, pid_t, void*, void*);

constexpr std::size_t kXsaveHeaderOffset = 512;   // XSTATE_BV, the bitmap of components in use
constexpr unsigned kFirstExtendedComponent = 2;   // 0 and 1 (x87, SSE) are the legacy area
constexpr unsigned kComponents = 63;
constexpr unsigned kXsaveLeaf = 0xd;              // CPUID: sub-leaf i gives component i's size (EAX) and offset (EBX)
constexpr std::size_t kBufferSize = 64 * 1024;    // more than any XSAVE area

// linux.uml calls ptrace from its one tracing thread.
alignas(64) unsigned char whole_area[kBufferSize];
std::size_t host_size = 0;

Ptrace real_ptrace() {
  static const auto function = reinterpret_cast<Ptrace>(dlsym(RTLD_NEXT, "ptrace"));
  return function;
}

}  // namespace

// glibc declares ptrace(enum __ptrace_request, ...), so the last named parameter is an enum, which
// clang flags for va_start (default argument promotion); the enum is int-sized on every ABI glibc
// supports, and va_start only needs its address.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wvarargs"
#endif
extern "C" long ptrace(enum __ptrace_request request, ...) {
  va_list arguments;
  va_start(arguments, request);
  const pid_t pid = va_arg(arguments, pid_t);
  void* address = va_arg(arguments, void*);
  void* data = va_arg(arguments, void*);
  va_end(arguments);
  const bool xstate = reinterpret_cast<std::uintptr_t>(address) == NT_X86_XSTATE;
  if (!xstate || (request != PTRACE_GETREGSET && request != PTRACE_SETREGSET)) return real_ptrace()(request, pid, address, data);

  auto* theirs = static_cast<iovec*>(data);
  if (request == PTRACE_GETREGSET || host_size == 0) {
    iovec whole{whole_area, sizeof whole_area};
    const long result = real_ptrace()(PTRACE_GETREGSET, pid, address, &whole);
    if (result < 0) return result;
    host_size = whole.iov_len;
    if (request == PTRACE_GETREGSET) {
      const std::size_t copied = theirs->iov_len < whole.iov_len ? theirs->iov_len : whole.iov_len;
      std::memcpy(theirs->iov_base, whole_area, copied);
      theirs->iov_len = copied;
      return result;
    }
  }
  if (theirs->iov_len >= host_size) return real_ptrace()(request, pid, address, data);

  std::memset(whole_area, 0, host_size);
  std::memcpy(whole_area, theirs->iov_base, theirs->iov_len);
  std::uint64_t in_use = 0;
  std::memcpy(&in_use, whole_area + kXsaveHeaderOffset, sizeof in_use);
  for (unsigned component = kFirstExtendedComponent; component < kComponents; ++component) {
    const std::uint64_t bit = std::uint64_t{1} << component;
    if ((in_use & bit) == 0) continue;
    unsigned size = 0, offset = 0, flags = 0, unused = 0;
    __cpuid_count(kXsaveLeaf, component, size, offset, flags, unused);
    if (std::size_t{offset} + size > theirs->iov_len) in_use &= ~bit;
  }
  std::memcpy(whole_area + kXsaveHeaderOffset, &in_use, sizeof in_use);
  iovec whole{whole_area, host_size};
  return real_ptrace()(PTRACE_SETREGSET, pid, address, &whole);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
