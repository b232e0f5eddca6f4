#include "ike/auth/preshared_key.h"

#include "ike/crypto/keys.h"

namespace ward::ike::auth {
namespace {

SecureBytes expected_hash(Role of, const MainModeTranscript& t, Bytes id_b) {
  return of == Role::Initiator ? crypto::hash_i(t.hash, *t.skeyid, t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b, id_b)
                               : crypto::hash_r(t.hash, *t.skeyid, t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b, id_b);
}

}  // namespace

SecureBytes preshared_key_from_text(std::string_view text) {
  return SecureBytes(std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

SecureBytes PresharedKeyProvider::skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& /*g_xy*/) const {
  if (!remote_) return crypto::skeyid_preshared_key(hash, key_.reveal(), ni_b, nr_b);
  auto computed = remote_(hash, ni_b, nr_b);
  if (!computed) {
    remote_error_ = computed.error();
    return SecureBytes();
  }
  return std::move(*computed);
}

Expected<std::vector<Payload>, std::string> PresharedKeyProvider::build_authentication(
    Role self, const MainModeTranscript& transcript, Bytes own_id_b) const {
  if (transcript.skeyid == nullptr) return unexpected(std::string("pre-shared key: SKEYID is not derived yet"));
  if (transcript.skeyid->size() == 0) return unexpected("pre-shared key: no SKEYID from the key holder: " + remote_error_);
  const auto digest = expected_hash(self, transcript, own_id_b);
  return std::vector<Payload>{Hash{{digest.reveal().begin(), digest.reveal().end()}}};
}

Expected<void, IkeError> PresharedKeyProvider::check_authentication(Role peer, const MainModeTranscript& transcript,
                                                                    Bytes peer_id_b, const ParsedMessage& message) const {
  const auto failed = [](std::string text) { return unexpected(IkeError{NotifyMessageType::AuthenticationFailed, std::move(text)}); };
  const char* which = peer == Role::Initiator ? "HASH_I" : "HASH_R";
  const auto* received = message.find<Hash>();
  if (received == nullptr) return failed(std::string(which) + " missing: the peer did not use pre-shared key authentication");
  if (transcript.skeyid == nullptr) return failed("pre-shared key: SKEYID is not derived yet");
  if (transcript.skeyid->size() == 0) return failed("pre-shared key: no SKEYID from the key holder: " + remote_error_);
  const auto digest = expected_hash(peer, transcript, peer_id_b);
  if (!crypto::equal_constant_time(digest.reveal(), received->data)) {
    return failed(std::string(which) + " mismatch: the peer's preshared key differs");
  }
  return {};
}

}  // namespace ward::ike::auth
