// Compile, translate, install: a policy for this host's addresses into the dataplane. Keeps the
// FilterIds for the daemon's lifetime so filter ids stay stable across refreshes.
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
  explicit Applier(driver::Dataplane& dataplane) : dataplane_(dataplane) {}

  // Fills `snapshot.compiled` and `snapshot.translation` from its policy and addresses (nothing
  // for origin None) and installs the table. On failure the dataplane keeps its previous table.
  Expected<void, std::string> apply(Snapshot& snapshot);

 private:
  driver::Dataplane& dataplane_;
  translate::FilterIds ids_;
};

}  // namespace ward::agent::daemon
