// wardd's half of Kerberos for its IKE process: the GSS-API exchanges (ike/auth/kerberos_provider:
// the keytab, the per-exchange MEMORY ccache, the security context) stay in wardd, and the child
// drives them by exchange id (kGss* in messages.h; the child's half is remote_kerberos.h). The
// child sends the peer's tokens and HASH payload and gets ours back; it never sees the keytab, a
// ticket or the session key. Open exchanges are bounded (a taken-over child cannot make wardd
// hold unbounded GSS state) and all dropped when the child dies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/privsep/endpoint.h"
#include "common/expected.h"
#include "ike/auth/auth_provider.h"

namespace ward::agent::ikeproc {

// As many as the responder's embryonic table holds: one per main mode under way.
inline constexpr std::size_t kMaxGssExchanges = 4096;

class GssService {
 public:
  explicit GssService(std::size_t max_exchanges = kMaxGssExchanges) : max_exchanges_(max_exchanges) {}

  // The Kerberos provider the policy's rules use (all are alike: this host's keytab and
  // principals); null until a rule with Kerberos was asked for.
  void use(std::shared_ptr<const ike::auth::AuthProvider> kerberos);
  // A kGss* message (call or note); nullopt for any other type.
  std::optional<Expected<privsep::Body, std::string>> handle(std::uint32_t type, std::span<const std::uint8_t> body);
  void clear();   // the child died: its exchanges with it
  std::size_t open_exchanges() const;

 private:
  Expected<privsep::Body, std::string> handle_known(std::uint32_t type, std::span<const std::uint8_t> body);
  std::shared_ptr<ike::auth::AuthProvider> exchange(std::uint32_t id) const;

  const std::size_t max_exchanges_;
  mutable std::mutex mutex_;
  std::shared_ptr<const ike::auth::AuthProvider> kerberos_;
  std::map<std::uint32_t, std::shared_ptr<ike::auth::AuthProvider>> exchanges_;
  std::uint32_t next_ = 1;
};

}  // namespace ward::agent::ikeproc
