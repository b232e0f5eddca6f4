#include "agent/daemon/refresh_scope.h"

#include "directory/gpo/dn.h"

namespace ward::agent::daemon {

RefreshScope RefreshScope::everything() {
  RefreshScope scope;
  scope.everything_ = true;
  return scope;
}

void RefreshScope::add_object(std::string_view dn) {
  if (!dn.empty()) objects_.insert(gpo::normalize_dn(dn));
}

void RefreshScope::add_subtree(std::string_view dn) {
  if (!dn.empty()) subtrees_.insert(gpo::normalize_dn(dn));
}

bool RefreshScope::affected_by(std::string_view dn) const {
  if (everything_) return true;
  const std::string normalized = gpo::normalize_dn(dn);
  if (objects_.contains(normalized) || subtrees_.contains(normalized)) return true;
  if (subtrees_.empty()) return false;
  // Each ancestor: the suffix after every RDN separator (normalize_dn leaves escaped commas as "\,").
  for (std::size_t at = normalized.find(','); at != std::string::npos; at = normalized.find(',', at + 1)) {
    if (at > 0 && normalized[at - 1] == '\\') continue;
    if (subtrees_.contains(normalized.substr(at + 1))) return true;
  }
  return false;
}

}  // namespace ward::agent::daemon
