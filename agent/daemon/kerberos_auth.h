// Kerberos in wardd: the host's own principals and the peer's.
//
// A domain member's Kerberos client name is its computer account, NAME$@REALM (the
// sAMAccountName; what `adcli join` / `realm join` write to /etc/krb5.keytab beside the service
// principals host/<fqdn> and host/<NAME>). Active Directory's KDC refuses host/<fqdn> as a client
// name; it is a service principal of the account. So wardd binds to the directory and starts IKE
// as NAME$@REALM (or [directory] principal), accepts IKE as host/<its fqdn>@REALM, and asks for
// the peer's ticket as host/<the peer address's DNS name>@REALM, as Windows does.
#pragma once

#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/daemon/key_process.h"
#include "agent/ikebridge/ike_bridge.h"
#include "common/expected.h"
#include "common/ip.h"

namespace ward::agent::daemon {

// NetBIOS-style computer account of a host name: the first label, upper case, cut to 15
// characters, with '$': "legal-pc1.example.test" -> "LEGAL-PC1$" (Windows' and adcli's rule).
std::string computer_account_of_host(std::string_view host_name);

// [directory] computer_name ('$' added when missing), or computer_account_of_host(this host).
std::string computer_account_name(const config::DirectorySettings& directory);

// [directory] principal, or <computer_account_name>@<realm>: the client principal for the
// directory bind and for IKE as initiator.
std::string host_principal(const config::DirectorySettings& directory);

// The IKE acceptor principal: [directory] principal when it is a host/ principal (labs with a
// plain KDC), otherwise host/<this host's fqdn>@<realm> (its name plus the realm in lower case
// when the host name has no dot).
std::string acceptor_principal(const config::DirectorySettings& directory);

// host/<the address's DNS name, lower case>@<realm>; the error says the name was not found.
Expected<std::string, std::string> peer_host_principal(const IpAddress& peer, const std::string& realm);

// Lets rules with Kerberos authentication negotiate, with [directory] keytab and realm. Without a
// realm nothing is enabled and such rules fail with the factory's "not supported" reason. With a
// key process ([privsep] user), the acceptor's steps run there with the keytab it alone reads
// (key_kerberos.h; hand it the keytab with kerberos_keytab_settings).
void enable_kerberos(ikebridge::AuthFactory& factory, const config::Config& config, KeyProcess* keys = nullptr);

// What the key process needs of the keytab: the file, the principal that must have a key in it,
// and the acceptor principal.
KeyProcess::KeytabSettings kerberos_keytab_settings(const config::DirectorySettings& directory);

}  // namespace ward::agent::daemon
