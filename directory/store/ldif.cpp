#include "directory/store/ldif.h"

#include <openssl/evp.h>

#include <vector>

#include "directory/adblob/policy_to_ad.h"
#include "directory/store/ad_entry.h"
#include "directory/store/policy_store.h"

namespace ward::store {
namespace {

bool safe_string(std::string_view value) {
  if (value.empty()) return true;
  const auto first = static_cast<unsigned char>(value.front());
  if (first == ' ' || first == ':' || first == '<' || value.back() == ' ') return false;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0 || u == '\n' || u == '\r' || u > 0x7F) return false;
  }
  return true;
}

std::string base64(std::string_view value) {
  std::vector<unsigned char> out(4 * ((value.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(value.data()),
                                static_cast<int>(value.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n));
}

std::string line(std::string_view name, std::string_view value) {
  if (safe_string(value)) return std::string(name) + ": " + std::string(value) + "\n";
  return std::string(name) + ":: " + base64(value) + "\n";
}

}  // namespace

std::string to_ldif(const adblob::AdObject& object) {
  std::string out = line("dn", object.dn);
  for (const auto& attribute : to_attributes(object)) {
    for (const auto& value : attribute.values) out += line(attribute.name, value);
  }
  return out + "\n";
}

Expected<std::string, StoreError> policy_ldif(const model::Policy& policy, std::string_view domain_dn) {
  auto objects = adblob::policy_to_ad(policy, domain_dn);
  if (!objects) return unexpected(StoreError{objects.error().dn, objects.error().attribute, objects.error().to_string()});
  std::string out;
  for (const auto& object : creation_order(std::move(*objects))) out += to_ldif(object);
  return out;
}

}  // namespace ward::store
