// Pre-shared key authentication (RFC 2409 5.4): SKEYID = prf(key, Ni_b | Nr_b), message 5
// carries HASH_I, message 6 HASH_R, compared in constant time.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "ike/auth/auth_provider.h"

namespace ward::ike::auth {

// The key as Ward keeps it: wiped on destruction, never printed.
SecureBytes preshared_key_from_text(std::string_view text);

// SKEYID from a key that another process holds (wardd's IKE process asks the parent, which
// keeps the preshared keys): prf(key, Ni_b | Nr_b) comes back, the key never does.
using RemoteSkeyid = std::function<Expected<SecureBytes, std::string>(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b)>;

class PresharedKeyProvider final : public AuthProvider {
 public:
  explicit PresharedKeyProvider(SecureBytes key) : key_(std::move(key)) {}
  explicit PresharedKeyProvider(RemoteSkeyid remote) : remote_(std::move(remote)) {}

  // The key itself (empty for a remote one): for wardd to hand it to its key process only.
  const SecureBytes& key() const noexcept { return key_; }
  IkeAuthenticationMethod method() const noexcept override { return IkeAuthenticationMethod::PreSharedKey; }
  std::string_view name() const noexcept override { return "pre-shared key"; }
  SecureBytes skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const override;
  Expected<std::vector<Payload>, std::string> build_authentication(Role self, const MainModeTranscript& transcript,
                                                                   Bytes own_id_b) const override;
  Expected<void, IkeError> check_authentication(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                                   const ParsedMessage& message) const override;

 private:
  SecureBytes key_;
  RemoteSkeyid remote_;
  mutable std::string remote_error_;   // the last failed remote SKEYID's reason (event thread only)
};

}  // namespace ward::ike::auth
