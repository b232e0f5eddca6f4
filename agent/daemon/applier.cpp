#include "agent/daemon/applier.h"

namespace ward::agent::daemon {

std::string_view name_of(PolicyOrigin origin) noexcept {
  switch (origin) {
    case PolicyOrigin::Source: return "applied";
    case PolicyOrigin::Cache: return "cached";
    case PolicyOrigin::Boot: return "boot";
    case PolicyOrigin::None: break;
  }
  return "none";
}

Expected<void, std::string> Applier::apply(Snapshot& snapshot) {
  snapshot.compiled = {};
  snapshot.translation = {};
  snapshot.offers = {};
  if (snapshot.origin != PolicyOrigin::None) {
    model::HostContext host;
    host.addresses = snapshot.addresses;
    snapshot.compiled = model::compile(snapshot.policy, host);
    snapshot.offers = ikebridge::plan_offers(snapshot.policy, host_allows_legacy_);
    ikebridge::enforce_fail_closed(snapshot.compiled, snapshot.offers);
    snapshot.translation = translate::translate(snapshot.policy, snapshot.compiled, ids_);
  }
  return dataplane_.install_filter_table(snapshot.translation.table);
}

}  // namespace ward::agent::daemon
