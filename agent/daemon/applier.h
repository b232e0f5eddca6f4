// Compile, plan the offers, translate, install: a policy for this host's addresses into the
// dataplane. Rules left with no usable offer (ikebridge/offers.h) fail closed: their negotiate
// filters are installed as block filters. Keeps the FilterIds for the daemon's lifetime so filter
// ids stay stable across refreshes.
#pragma once

#include <memory>
#include <string>

#include "agent/daemon/agent_state.h"
#include "agent/translate/translate.h"
#include "common/expected.h"
#include "driver/api/dataplane.h"

namespace ward::agent::daemon {

class Applier {
 public:
  // `host_allows_legacy`: false for `[ike] legacy_algorithms = never` (ward.conf).
  explicit Applier(driver::Dataplane& dataplane, bool host_allows_legacy = true)
      : dataplane_(dataplane), host_allows_legacy_(host_allows_legacy) {}

  // Fills `snapshot.compiled`, `snapshot.offers` and `snapshot.translation` from its policy and
  // addresses (nothing for origin None) and installs the table. On failure the dataplane keeps
  // its previous table.
  Expected<void, std::string> apply(Snapshot& snapshot);

 private:
  driver::Dataplane& dataplane_;
  bool host_allows_legacy_;
  translate::FilterIds ids_;
};

}  // namespace ward::agent::daemon
