#include "agent/daemon/kerberos_auth.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include "agent/daemon/key_kerberos.h"
#include "ike/auth/kerberos_provider.h"

namespace ward::agent::daemon {

namespace {

std::string local_host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "localhost";
  return name.data();
}

}  // namespace

std::string computer_account_of_host(std::string_view host_name) {
  constexpr std::size_t kNetbiosNameLength = 15;
  std::string name(host_name.substr(0, host_name.find('.')));
  if (name.size() > kNetbiosNameLength) name.resize(kNetbiosNameLength);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  return name + "$";
}

std::string computer_account_name(const config::DirectorySettings& directory) {
  if (directory.computer_name.empty()) return computer_account_of_host(local_host_name());
  return directory.computer_name.back() == '$' ? directory.computer_name : directory.computer_name + "$";
}

std::string host_principal(const config::DirectorySettings& directory) {
  return directory.principal.empty() ? computer_account_name(directory) + "@" + directory.realm : directory.principal;
}

std::string acceptor_principal(const config::DirectorySettings& directory) {
  if (directory.principal.rfind("host/", 0) == 0) return directory.principal;
  std::string fqdn = local_host_name();
  std::transform(fqdn.begin(), fqdn.end(), fqdn.begin(), [](unsigned char c) { return std::tolower(c); });
  if (fqdn.find('.') == std::string::npos) {
    std::string domain = directory.realm;
    std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) { return std::tolower(c); });
    fqdn += "." + domain;
  }
  return "host/" + fqdn + "@" + directory.realm;
}

Expected<std::string, std::string> peer_host_principal(const IpAddress& peer, const std::string& realm) {
  sockaddr_storage address{};
  socklen_t length = 0;
  const auto bytes = peer.bytes();
  if (peer.family() == IpFamily::V4) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, bytes.data(), 4);
    length = sizeof v4;
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    std::memcpy(&v6.sin6_addr, bytes.data(), 16);
    length = sizeof v6;
  }
  std::array<char, NI_MAXHOST> host{};
  const int rc = ::getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host.data(), host.size(), nullptr,
                               0, NI_NAMEREQD);
  if (rc != 0) {
    return unexpected("no host name for " + peer.to_string() + " (" + ::gai_strerror(rc) +
                      "): Kerberos needs the peer's DNS name to ask for host/<name>@" + realm);
  }
  std::string name(host.data());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return "host/" + name + "@" + realm;
}

KeyProcess::KeytabSettings kerberos_keytab_settings(const config::DirectorySettings& directory) {
  return {directory.keytab, host_principal(directory), acceptor_principal(directory)};
}

void enable_kerberos(ikebridge::AuthFactory& factory, const config::Config& config, KeyProcess* keys) {
  const auto& directory = config.directory;
  if (directory.realm.empty()) return;
  ikebridge::KerberosSettings settings;
  settings.keytab_path = directory.keytab.string();
  settings.own_principal = host_principal(directory);
  const std::string acceptor = acceptor_principal(directory);
  const std::string realm = directory.realm;
  settings.peer_principal = [realm](const IpAddress& peer) -> std::optional<std::string> {
    auto principal = peer_host_principal(peer, realm);
    if (!principal) return std::nullopt;
    return *principal;
  };
  // One provider serves every exchange (each main mode takes its own GSS context from it).
  auto shared = std::make_shared<std::pair<std::once_flag, ikebridge::AuthProviderPtr>>();
  factory.enable_kerberos(std::move(settings),
                          [shared, realm, acceptor, keys](
                              const ikebridge::KerberosSettings& s) -> Expected<ikebridge::AuthProviderPtr, std::string> {
                            std::call_once(shared->first, [&] {
                              ike::auth::KerberosConfig kerberos;
                              kerberos.keytab = s.keytab_path;
                              kerberos.own_principal = s.own_principal;
                              kerberos.acceptor_principal = acceptor;
                              kerberos.peer_principal = [realm](const IpAddress& peer) {
                                return peer_host_principal(peer, realm);
                              };
                              if (keys != nullptr) {
                                shared->second = std::make_shared<const KeyProcessKerberosProvider>(std::move(kerberos), *keys);
                              } else {
                                shared->second = std::make_shared<const ike::auth::KerberosProvider>(std::move(kerberos));
                              }
                            });
                            return shared->second;
                          });
}

}  // namespace ward::agent::daemon
