#include "agent/monitor/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace ward::agent::monitor {

namespace {

Expected<SslContextPtr, std::string> make_context(const SSL_METHOD* method, const TlsFiles& files, const char* role) {
  SslContextPtr context(SSL_CTX_new(method));
  if (!context) return unexpected(std::string("cannot create a TLS context: ") + drain_openssl_errors());
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(context.get(), files.certificate.c_str()) != 1) {
    return unexpected(std::string(role) + " certificate " + files.certificate.string() + ": " + drain_openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(context.get(), files.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return unexpected(std::string(role) + " private key " + files.private_key.string() + ": " + drain_openssl_errors());
  }
  if (SSL_CTX_check_private_key(context.get()) != 1) {
    return unexpected(std::string(role) + " private key " + files.private_key.string() + " does not match " +
                      files.certificate.string());
  }
  if (SSL_CTX_load_verify_locations(context.get(), files.ca.c_str(), nullptr) != 1) {
    return unexpected("CA bundle " + files.ca.string() + ": " + drain_openssl_errors());
  }
  return context;
}

}  // namespace

std::string drain_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no OpenSSL error recorded" : text;
}

Expected<SslContextPtr, std::string> make_server_context(const TlsFiles& files) {
  auto context = make_context(TLS_server_method(), files, "monitor");
  if (!context) return context;
  // The CA's name goes into the CertificateRequest so clients pick the right certificate.
  STACK_OF(X509_NAME)* client_cas = SSL_load_client_CA_file(files.ca.c_str());
  if (client_cas == nullptr) return unexpected("CA bundle " + files.ca.string() + ": " + drain_openssl_errors());
  SSL_CTX_set_client_CA_list(context->get(), client_cas);
  SSL_CTX_set_verify(context->get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_session_cache_mode(context->get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(context->get(), 0);
  return context;
}

Expected<SslContextPtr, std::string> make_client_context(const TlsFiles& files) {
  auto context = make_context(TLS_client_method(), files, "client");
  if (!context) return context;
  SSL_CTX_set_verify(context->get(), SSL_VERIFY_PEER, nullptr);
  return context;
}

std::string peer_subject(const SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr) return {};
  char buffer[512];
  if (X509_NAME_oneline(X509_get_subject_name(certificate), buffer, sizeof buffer) == nullptr) return {};
  std::string subject(buffer);
  if (!subject.empty() && subject.front() == '/') subject.erase(0, 1);
  return subject;
}

}  // namespace ward::agent::monitor
