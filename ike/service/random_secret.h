// A 32-byte secret from OpenSSL's DRBG (the cookie secrets of IKEv1 and IKEv2 responders).
#pragma once

#include <array>
#include <cstddef>

namespace ward::ike::service {

// Aborts if the DRBG cannot give 32 bytes: no safe way is left to answer anyone.
void fill_random(std::array<std::byte, 32>& secret);

}  // namespace ward::ike::service
