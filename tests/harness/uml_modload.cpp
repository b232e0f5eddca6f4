// ward-uml-modload FILE.ko... — loads kernel modules in the order given, inside a User-mode Linux
// kernel (tests/harness/uml_kernel.h). kmod's insmod and modprobe fail there with "Invalid
// parameters" before they make a system call, so the harness resolves dependencies itself and this
// calls finit_module(2) for each file. A module already loaded (EEXIST) is fine. Exit status 1 and
// one line per module that failed, naming the file and the reason.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  int failed = 0;
  for (int i = 1; i < argc; ++i) {
    const int fd = ::open(argv[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::cerr << "ward-uml-modload: " << argv[i] << ": " << std::strerror(errno) << "\n";
      ++failed;
      continue;
    }
    if (::syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) {
      std::cerr << "ward-uml-modload: " << argv[i] << ": finit_module: " << std::strerror(errno) << "\n";
      ++failed;
    }
    ::close(fd);
  }
  return failed == 0 ? 0 : 1;
}
