#include "agent/daemon/key_kerberos.h"

#include "agent/ikeproc/remote_kerberos.h"

namespace ward::agent::daemon {

using ike::auth::Bytes;
using ike::auth::MainModeTranscript;
using ike::auth::Role;
using ike::auth::SecureBytes;

namespace {

// One main mode whose GSS-API context lives in the key process.
class KeyProcessExchange final : public ike::auth::AuthProvider {
 public:
  KeyProcessExchange(KeyProcess& keys, ike::auth::PeerPrincipalResolver resolver, Role self, IpAddress peer)
      : keys_(keys), resolver_(std::move(resolver)), self_(self), peer_(peer) {}
  ~KeyProcessExchange() override {
    if (exchange_ != 0) keys_.gss_end(child_, exchange_);
  }
  KeyProcessExchange(const KeyProcessExchange&) = delete;
  KeyProcessExchange& operator=(const KeyProcessExchange&) = delete;

  ike::IkeAuthenticationMethod method() const noexcept override { return ike::IkeAuthenticationMethod::Kerberos; }
  std::string_view name() const noexcept override { return "Kerberos (GSS-API)"; }
  std::string peer_identity() const override { return authenticated_peer_; }

  SecureBytes skeyid(ike::IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const override {
    return ike::auth::skeyid_gss(hash, ni_b, nr_b, g_xy);
  }

  // Responder, main mode 3: the initiator's AP-REQ, accepted in the key process (which answers the
  // AP-REP). Initiator, main mode 4: the AP-REP, checked there.
  Expected<void, std::string> consume_key_exchange_payloads(Role peer, const ike::ParsedMessage& message) const override {
    if (peer == self_) return unexpected(std::string("Kerberos: a main mode message of our own role"));
    std::vector<std::vector<std::byte>> tokens;
    for (const auto& p : message.payloads) {
      if (const auto* token = std::get_if<ike::GssToken>(&p)) tokens.push_back(token->data);
    }
    if (tokens.empty()) {
      return unexpected("Kerberos: " + std::string(peer == Role::Initiator ? "main mode 3" : "main mode 4") +
                        " carries no GSS token: the peer does not authenticate with Kerberos");
    }
    if (self_ == Role::Initiator) {
      if (exchange_ == 0) return unexpected(std::string("Kerberos: main mode 4 before our AP-REQ was built"));
      auto finished = keys_.gss_finish(child_, exchange_, std::move(tokens));
      if (!finished) return unexpected(with_kerberos(finished.error()));
      return {};
    }
    if (exchange_ != 0) return unexpected(std::string("Kerberos: a second AP-REQ in one exchange"));
    auto expected = expected_peer();
    if (!expected) return unexpected(expected.error());
    auto accepted = keys_.gss_accept(peer_, *expected, std::move(tokens));
    if (!accepted) return unexpected(with_kerberos(accepted.error()));
    child_ = accepted->child;
    exchange_ = accepted->exchange;
    reply_ = std::move(accepted->reply);
    return {};
  }

  // Initiator, main mode 3: the AP-REQ the key process made with the tickets it got through wardd.
  // Responder, main mode 4: the AP-REP it made.
  Expected<std::vector<ike::Payload>, std::string> build_key_exchange_payloads(Role self) const override {
    if (self != self_) return unexpected(std::string("Kerberos: a main mode message of the peer's role"));
    if (self_ == Role::Initiator) {
      if (exchange_ != 0) return unexpected(std::string("Kerberos: a second AP-REQ in one exchange"));
      auto target = expected_peer();
      if (!target) return unexpected(target.error());
      auto opened = keys_.gss_init(peer_, *target);
      if (!opened) return unexpected(with_kerberos(opened.error()));
      child_ = opened->child;
      exchange_ = opened->exchange;
      reply_ = std::move(opened->reply);
    }
    if (exchange_ == 0 || reply_.empty()) return unexpected(std::string("Kerberos: no AP-REP to send (main mode 3 not accepted)"));
    std::vector<ike::Payload> payloads;
    for (auto& token : reply_) payloads.push_back(ike::GssToken{std::move(token)});
    reply_.clear();
    return payloads;
  }

  Expected<std::vector<ike::Payload>, std::string> build_authentication(Role self, const MainModeTranscript& transcript,
                                                                        Bytes own_id_b) const override {
    if (exchange_ == 0) return unexpected(std::string("Kerberos: the GSS-API context is not established"));
    const ikeproc::GssAuthenticate request{exchange_, self, ikeproc::remote_transcript(transcript), {own_id_b.begin(), own_id_b.end()}, {}};
    auto result = keys_.gss_authenticate(child_, request, false);
    if (!result) return unexpected(with_kerberos(result.error()));
    return std::vector<ike::Payload>{ike::Hash{std::move(result->hash)}};
  }

  Expected<void, ike::IkeError> check_authentication(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                                     const ike::ParsedMessage& message) const override {
    return ike::auth::as_authentication_failure(check_hash(peer, transcript, peer_id_b, message));
  }

  Expected<void, std::string> check_hash(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                         const ike::ParsedMessage& message) const {
    const auto* hash = message.find<ike::Hash>();
    if (hash == nullptr) {
      return unexpected("Kerberos: " + std::string(peer == Role::Initiator ? "HASH_I" : "HASH_R") +
                        " missing: the peer did not send a GSS-wrapped HASH");
    }
    if (exchange_ == 0) return unexpected(std::string("Kerberos: the GSS-API context is not established"));
    const ikeproc::GssAuthenticate request{exchange_, peer, ikeproc::remote_transcript(transcript), {peer_id_b.begin(), peer_id_b.end()},
                                           hash->data};
    auto result = keys_.gss_authenticate(child_, request, true);
    if (!result) return unexpected(with_kerberos(result.error()));
    authenticated_peer_ = std::move(result->principal);
    return {};
  }

 private:
  static std::string with_kerberos(const std::string& why) { return why.starts_with("Kerberos: ") ? why : "Kerberos: " + why; }

  // The principal the peer's address must be (as acceptor) or whose ticket we ask for (as
  // initiator): a DNS lookup, which only wardd can make.
  Expected<std::string, std::string> expected_peer() const {
    if (!resolver_) return unexpected(std::string("Kerberos: no resolver for peer principals is configured"));
    auto expected = resolver_(peer_);
    if (!expected) return unexpected("Kerberos: no principal known for peer " + peer_.to_string() + ": " + expected.error());
    return expected;
  }

  KeyProcess& keys_;
  const ike::auth::PeerPrincipalResolver resolver_;
  const Role self_;
  const IpAddress peer_;
  // One Phase1Sa calls the object, in message order (the interface is const).
  mutable std::uint64_t child_ = 0;
  mutable std::uint32_t exchange_ = 0;   // 0: none open in the key process
  mutable std::vector<std::vector<std::byte>> reply_;   // our AP-REQ or AP-REP, until sent
  mutable std::string authenticated_peer_;
};

}  // namespace

KeyProcessKerberosProvider::KeyProcessKerberosProvider(ike::auth::KerberosConfig config, KeyProcess& keys)
    : local_(std::move(config)), keys_(keys) {}

std::unique_ptr<ike::auth::AuthProvider> KeyProcessKerberosProvider::for_exchange(Role self, const IpAddress& peer) const {
  return std::make_unique<KeyProcessExchange>(keys_, local_.config().peer_principal, self, peer);
}

SecureBytes KeyProcessKerberosProvider::skeyid(ike::IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const {
  return local_.skeyid(hash, ni_b, nr_b, g_xy);
}
Expected<std::vector<ike::Payload>, std::string> KeyProcessKerberosProvider::build_key_exchange_payloads(Role self) const {
  return local_.build_key_exchange_payloads(self);
}
Expected<std::vector<ike::Payload>, std::string> KeyProcessKerberosProvider::build_authentication(Role self, const MainModeTranscript& transcript,
                                                                                                  Bytes own_id_b) const {
  return local_.build_authentication(self, transcript, own_id_b);
}
Expected<void, ike::IkeError> KeyProcessKerberosProvider::check_authentication(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                                                             const ike::ParsedMessage& message) const {
  return local_.check_authentication(peer, transcript, peer_id_b, message);
}

}  // namespace ward::agent::daemon
