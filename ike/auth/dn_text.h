// Distinguished names as administrators write them in a rule ("CN=Ward Root, O=Ward", Windows'
// E= and S=, either order) matched against a certificate's X509_NAME.
#pragma once

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ward::ike::auth {

struct DnComponent {
  int nid = NID_undef;
  std::string value;   // lower case, trimmed
};

// "CN=Ward Root, O=Ward" -> [(CN, ward root), (O, ward)]; ',' or ';' separate, '\' escapes, values
// may be quoted. Nothing on an unknown attribute type or a component without '='.
std::optional<std::vector<DnComponent>> parse_dn(std::string_view text);

// The name has these components, in this order or reversed, case and outer blanks aside.
bool name_matches(const std::vector<DnComponent>& wanted, const X509_NAME* name);

}  // namespace ward::ike::auth
