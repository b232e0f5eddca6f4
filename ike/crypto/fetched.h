// Algorithms fetched once per thread. OpenSSL 3 looks a provider's implementation up by name (a
// lock, a hash lookup, string compares) every time a built-in EVP_aes_*() object or a name goes
// into an init call: several times per IKE message. These fetch on a thread's first use of a name
// and keep the object for the thread's life; callers must not free what they get.
#pragma once

#include <openssl/evp.h>

#include <string_view>

namespace ward::ike::crypto {

// "AES-256-CBC", "AES-128-GCM", "DES-EDE3-CBC", ...; nullptr when no provider has it.
const EVP_CIPHER* fetched_cipher(std::string_view name);
// "HMAC", ...; nullptr when no provider has it.
EVP_MAC* fetched_mac(std::string_view name);
// "SHA2-256", ...; nullptr when no provider has it.
const EVP_MD* fetched_md(std::string_view name);

}  // namespace ward::ike::crypto
