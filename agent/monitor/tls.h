// OpenSSL plumbing for the monitor endpoint: owning handles, contexts, error text.
//
// Both ends authenticate: the server presents its certificate and requires a client certificate
// signed by the configured CA (the helpdesk's); the client verifies the server's chain against its
// CA and the name or address it dialled. TLS 1.2 is the floor.
#pragma once

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/expected.h"

namespace ward::agent::monitor {

struct SslContextDeleter {
  void operator()(SSL_CTX* context) const noexcept { SSL_CTX_free(context); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};
using SslContextPtr = std::unique_ptr<SSL_CTX, SslContextDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

struct TlsFiles {
  std::filesystem::path certificate;  // PEM, this side's certificate (chain may follow)
  std::filesystem::path private_key;  // PEM
  std::filesystem::path ca;           // PEM bundle the peer's certificate must chain to
};

// The OpenSSL error queue as one line (and cleared), e.g. "error:0A000086:SSL routines::certificate verify failed".
std::string drain_openssl_errors();

Expected<SslContextPtr, std::string> make_server_context(const TlsFiles& files);
Expected<SslContextPtr, std::string> make_client_context(const TlsFiles& files);

// The verified peer certificate's subject, e.g. "CN=helpdesk-1", or "" without one.
std::string peer_subject(const SSL* ssl);

}  // namespace ward::agent::monitor
