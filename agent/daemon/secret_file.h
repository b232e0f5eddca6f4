// Reading a secret file through a descriptor wardd (root) opened and handed over: the key process's
// certificate key and keytab. The text is wiped when dropped, as is every chunk read on the way.
#pragma once

#include <openssl/crypto.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/expected.h"

namespace ward::agent::daemon {

struct SecretText {
  std::string text;
  SecretText() = default;
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  ~SecretText() { OPENSSL_cleanse(text.data(), text.size()); }
};

// All of `fd` into `into`; `name` ("private key file PATH", "keytab PATH") heads the errors. A file
// larger than `max_bytes` is refused (what was read of it is wiped with `into`).
inline Expected<void, std::string> read_secret_file(int fd, const std::string& name, std::size_t max_bytes, SecretText& into) {
  std::array<char, 4096> chunk{};
  into.text.reserve(max_bytes < 65536 ? max_bytes : 65536);   // fewer reallocations leaving copies behind
  for (;;) {
    const auto n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      OPENSSL_cleanse(chunk.data(), chunk.size());
      return unexpected(name + " cannot be read: " + std::strerror(errno));
    }
    if (n == 0) break;
    if (into.text.size() + static_cast<std::size_t>(n) > max_bytes) {
      OPENSSL_cleanse(chunk.data(), chunk.size());
      return unexpected(name + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    if (into.text.size() + static_cast<std::size_t>(n) > into.text.capacity()) {
      // Grow by hand so the old buffer is wiped before it is freed.
      std::string bigger;
      bigger.reserve(into.text.capacity() * 2);
      bigger.append(into.text);
      OPENSSL_cleanse(into.text.data(), into.text.size());
      into.text.swap(bigger);
    }
    into.text.append(chunk.data(), static_cast<std::size_t>(n));
  }
  OPENSSL_cleanse(chunk.data(), chunk.size());
  return {};
}

}  // namespace ward::agent::daemon
