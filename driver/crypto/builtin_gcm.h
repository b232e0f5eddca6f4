// AES-GCM through OpenSSL's built-in EVP method instead of its provider, for the packet path.
//
// Why: through the provider, OpenSSL 3.0 hands a GCM context its per-packet IV and tag in
// OSSL_PARAM arrays, and the provider looks each name it knows up in the array with strcmp
// (eight names per get, five per set), whether the call is EVP_CIPHER_CTX_get_params or
// EVP_CIPHER_CTX_ctrl (which builds the array itself, and costs more). That was ~50 ns per call,
// two calls per sealed packet and one per opened one: the `strcmp` + `OSSL_PARAM_locate` samples
// in the dataplane's profile. The built-in method (the EVP_aes_*_gcm() tables libcrypto still
// carries) takes the IV and tag through ctrl calls that are a switch and a memcpy, and runs the
// same AES-NI/PCLMUL code. A duplicate of it (EVP_CIPHER_meth_dup) is what makes EVP take that
// path: OpenSSL 3.0 swaps its own global tables for provider fetches, not caller-made methods.
//
// The caveats are hmac_state.cpp's: EVP_CIPHER_meth_dup is deprecated in OpenSSL 3 (still built
// and exported by every 3.x release), and the built-in method bypasses providers, so a FIPS-only
// configuration must go back to EVP_CIPHER_fetch (CipherTransform's ctrl calls work with both;
// only the speed differs).
#pragma once

#include <cstddef>

#include <openssl/evp.h>

namespace ward::driver::crypto {

// The process-wide built-in AES-GCM method for a 16- or 32-byte key, made once (thread-safe) and
// never freed; only read after that, so every SA's context may use it. nullptr for another key
// length, or if OpenSSL could not allocate it (callers then fetch the provider's).
const EVP_CIPHER* builtin_gcm_cipher(std::size_t key_length) noexcept;

}  // namespace ward::driver::crypto
