#include "ike/service/random_secret.h"

#include <openssl/rand.h>

#include <cstdlib>

namespace ward::ike::service {

void fill_random(std::array<std::byte, 32>& secret) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1) std::abort();
}

}  // namespace ward::ike::service
