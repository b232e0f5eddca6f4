// Kerberos for IKE in wardd: the host's own principal (as for the directory bind) and the
// peer's, found the way Windows finds it: the peer address's DNS name, as host/<name>@<realm>.
#pragma once

#include <string>

#include "agent/config/config.h"
#include "agent/ikebridge/ike_bridge.h"
#include "common/expected.h"
#include "common/ip.h"

namespace ward::agent::daemon {

// [directory] principal, or host/<this host's name>@<realm>.
std::string host_principal(const config::DirectorySettings& directory);

// host/<the address's DNS name, lower case>@<realm>; the error says the name was not found.
Expected<std::string, std::string> peer_host_principal(const IpAddress& peer, const std::string& realm);

// Lets rules with Kerberos authentication negotiate, with [directory] keytab and realm. Without a
// realm nothing is enabled and such rules fail with the factory's "not supported" reason.
void enable_kerberos(ikebridge::AuthFactory& factory, const config::Config& config);

}  // namespace ward::agent::daemon
