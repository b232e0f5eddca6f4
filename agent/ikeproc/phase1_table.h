// The IKE process's own answer to phase1_for, from the Phase1Table wardd sent with the policy it
// enforces (kPhase1Table): the RemotePhase1Policy wardd's kPhase1For would give for the same
// lookup (PolicyBridge::phase1_for read the same way, keys by handle), without a call per main
// mode 1 / IKE_SA_INIT, which a flood from forged addresses makes by the thousand a second.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/ikeproc/wire.h"
#include "common/expected.h"

namespace ward::agent::ikeproc {

// The rules whose negotiate filters cover local -> peer (or the tunnel rules to peer), in
// precedence order, then the default response rule; or filter_id's rule. Their auth methods in
// that order, the first of each method kept; refused as PolicyBridge refuses (no rule covers the
// pair, no usable key exchange method, no usable authentication method).
Expected<RemotePhase1Policy, std::string> answer_phase1(const Phase1Table& table, const IpAddress& local, const IpAddress& peer,
                                                        std::optional<std::uint32_t> filter_id);

// The table the IKE process answers from: replaced by each kPhase1Table (on the channel's thread),
// read by the engines (each on its own).
class Phase1TableSlot {
 public:
  // None: the table did not fit in a message; lookups go to wardd again.
  void replace(std::optional<Phase1Table> table);
  // answer_phase1 from the table; nullopt while there is none (none came yet, or it did not fit).
  std::optional<Expected<RemotePhase1Policy, std::string>> answer(const IpAddress& local, const IpAddress& peer,
                                                                  std::optional<std::uint32_t> filter_id) const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Phase1Table> table_;
};

}  // namespace ward::agent::ikeproc
