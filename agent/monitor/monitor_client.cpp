#include "agent/monitor/monitor_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "agent/monitor/endpoint.h"

namespace ward::agent::monitor {

namespace {

using control::ClientError;

constexpr std::size_t kMaxResponseBytes = 16 * 1024 * 1024;
constexpr std::size_t kReadChunk = 16384;

bool is_numeric_address(const std::string& host) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return false;
  ::freeaddrinfo(found);
  return true;
}

Expected<control::FileDescriptor, ClientError> dial(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return unexpected(ClientError{ClientError::Kind::Connect, endpoint.to_string() + ": " + ::gai_strerror(rc)});
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> owned(found);
  std::string last = "no address";
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    control::FileDescriptor fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) continue;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd;
    last = std::strerror(errno);
  }
  return unexpected(ClientError{ClientError::Kind::Connect, "cannot connect to " + endpoint.to_string() + ": " + last});
}

}  // namespace

MonitorClient::~MonitorClient() {
  if (ssl_) SSL_shutdown(ssl_.get());
}

Expected<MonitorClient, ClientError> MonitorClient::connect(std::string_view endpoint_text, const TlsFiles& tls,
                                                            std::chrono::milliseconds timeout) noexcept {
  try {
    // OpenSSL writes through plain send(): a peer that has gone would raise SIGPIPE and end the
    // whole process. wardd ignores it anyway; a client program must too.
    ::signal(SIGPIPE, SIG_IGN);
    auto endpoint = parse_endpoint(endpoint_text);
    if (!endpoint) return unexpected(ClientError{ClientError::Kind::Connect, endpoint.error()});
    auto context = make_client_context(tls);
    if (!context) return unexpected(ClientError{ClientError::Kind::Connect, context.error()});
    auto fd = dial(*endpoint, timeout);
    if (!fd) return unexpected(fd.error());
    SslPtr ssl(SSL_new(context->get()));
    if (!ssl) return unexpected(ClientError{ClientError::Kind::Connect, drain_openssl_errors()});
    // The server's certificate must name what was dialled: an IP SAN for an address, a DNS name otherwise.
    if (is_numeric_address(endpoint->host)) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), endpoint->host.c_str()) != 1) {
        return unexpected(ClientError{ClientError::Kind::Connect, "bad address " + endpoint->host});
      }
    } else {
      SSL_set_tlsext_host_name(ssl.get(), endpoint->host.c_str());
      SSL_set1_host(ssl.get(), endpoint->host.c_str());
    }
    SSL_set_fd(ssl.get(), fd->get());
    if (SSL_connect(ssl.get()) != 1) {
      std::string why = drain_openssl_errors();
      const long verify = SSL_get_verify_result(ssl.get());
      if (verify != X509_V_OK) why = X509_verify_cert_error_string(verify);
      return unexpected(ClientError{ClientError::Kind::Connect,
                                    "TLS handshake with " + endpoint->to_string() + " failed: " + why});
    }
    return MonitorClient(std::move(*fd), std::move(*context), std::move(ssl));
  } catch (const std::exception& e) {
    return unexpected(ClientError{ClientError::Kind::Io, e.what()});
  }
}

Expected<control::Response, ClientError> MonitorClient::call(const control::Request& request) noexcept {
  try {
    return call_raw(control::encode_request(request));
  } catch (const std::exception& e) {
    return unexpected(ClientError{ClientError::Kind::Io, e.what()});
  }
}

Expected<control::Response, ClientError> MonitorClient::call_raw(std::string_view line) noexcept {
  try {
    std::size_t sent = 0;
    while (sent < line.size()) {
      const int n = SSL_write(ssl_.get(), line.data() + sent, static_cast<int>(line.size() - sent));
      if (n <= 0) return unexpected(ClientError{ClientError::Kind::Io, "sending: " + drain_openssl_errors()});
      sent += static_cast<std::size_t>(n);
    }
    char chunk[kReadChunk];
    std::size_t newline;
    while ((newline = buffer_.find('\n')) == std::string::npos) {
      if (buffer_.size() > kMaxResponseBytes) {
        return unexpected(ClientError{ClientError::Kind::Protocol,
                                      "response exceeds " + std::to_string(kMaxResponseBytes) + " bytes"});
      }
      const int received = SSL_read(ssl_.get(), chunk, sizeof chunk);
      if (received <= 0) {
        return unexpected(ClientError{ClientError::Kind::Io, "the monitor closed the connection or timed out without an answer"});
      }
      buffer_.append(chunk, static_cast<std::size_t>(received));
    }
    const std::string answer = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);
    auto response = control::parse_response(answer);
    if (!response) return unexpected(ClientError{ClientError::Kind::Protocol, response.error()});
    return std::move(response).value();
  } catch (const std::exception& e) {
    return unexpected(ClientError{ClientError::Kind::Io, e.what()});
  }
}

}  // namespace ward::agent::monitor
