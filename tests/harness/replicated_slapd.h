// Two OpenLDAP providers replicating each other (multi-provider syncrepl, refreshAndPersist), for
// tests and the fleet simulator: an edit on either reaches the other, and clients configured with
// both URIs fail over between them. Provider 2 starts from provider 1's export (slapcat), so both
// hold the same entryUUIDs and CSNs and a client's sync cookie is valid on either.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/harness/slapd_instance.h"

namespace ward::test {

class ReplicatedSlapd {
 public:
  // `options` for both (its initial_ldif loads into provider 1; port and replication are set here).
  static Expected<std::unique_ptr<ReplicatedSlapd>, HarnessError> start(SlapdOptions options);

  SlapdInstance& provider(std::size_t index) { return *providers_.at(index); }
  std::vector<std::string> uris() const;  // ldap://127.0.0.1:<port> of each, in order
  // Waits until both providers hold the same contextCSN values (every change replicated).
  Expected<void, HarnessError> wait_converged(std::chrono::milliseconds timeout);

 private:
  std::vector<std::unique_ptr<SlapdInstance>> providers_;
};

// The contextCSN values of `suffix` on the server at `uri` (anonymous read), sorted.
Expected<std::vector<std::string>, HarnessError> context_csns(const std::string& uri, const std::string& suffix);

}  // namespace ward::test
