#include "agent/daemon/private_krb5_config.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace ward::agent::daemon {

Expected<void, std::string> keep_private_krb5_config() {
  const char* set = std::getenv("KRB5_CONFIG");
  const std::string list = set != nullptr ? set : "/etc/krb5.conf";
  std::string text;
  bool any = false;
  for (std::size_t start = 0; start <= list.size();) {
    const auto colon = list.find(':', start);
    const std::string file = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    start = colon == std::string::npos ? list.size() + 1 : colon + 1;
    if (file.empty()) continue;
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) continue;
      return unexpected("Kerberos configuration " + file + ": " + std::strerror(errno));
    }
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    text += "\n";
    any = true;
  }
  if (!any) return {};
  const int fd = memfd_create("krb5.conf", 0);
  if (fd < 0) return unexpected(std::string("memfd_create: ") + std::strerror(errno));
  for (std::size_t written = 0; written < text.size();) {
    const auto n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) return unexpected(std::string("writing the Kerberos configuration: ") + std::strerror(errno));
    written += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);   // kept open for the process's life
  ::setenv("KRB5_CONFIG", path.c_str(), 1);
  return {};
}

}  // namespace ward::agent::daemon
