#include "agent/ikeproc/remote_kerberos.h"

#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire_gss.h"
#include "ike/auth/kerberos_provider.h"

namespace ward::agent::ikeproc {

using ike::auth::Bytes;
using ike::auth::MainModeTranscript;
using ike::auth::Role;
using ike::auth::SecureBytes;

namespace {

std::string misuse() {
  return "Kerberos: internal error: main mode must use the provider from for_exchange(), which names wardd's GSS context";
}

// One main mode's Kerberos, by wardd's exchange id (0: wardd refused to open one, `error` says why).
class RemoteKerberosExchange final : public ike::auth::AuthProvider {
 public:
  RemoteKerberosExchange(privsep::Endpoint& wardd, std::uint32_t id, std::string error)
      : wardd_(wardd), id_(id), error_(std::move(error)) {}
  ~RemoteKerberosExchange() override {
    if (id_ != 0) (void)wardd_.notify(kGssClose, encode(GssExchange{id_}));
  }
  RemoteKerberosExchange(const RemoteKerberosExchange&) = delete;
  RemoteKerberosExchange& operator=(const RemoteKerberosExchange&) = delete;

  ike::IkeAuthenticationMethod method() const noexcept override { return ike::IkeAuthenticationMethod::Kerberos; }
  std::string_view name() const noexcept override { return "Kerberos (GSS-API)"; }
  std::string peer_identity() const override { return peer_; }

  SecureBytes skeyid(ike::IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const override {
    return ike::auth::skeyid_gss(hash, ni_b, nr_b, g_xy);
  }

  Expected<std::vector<ike::Payload>, std::string> build_key_exchange_payloads(Role self) const override {
    if (id_ == 0) return unexpected(error_);
    auto answer = wardd_.call(kGssKeyExchange, encode(GssTokens{id_, self, {}}));
    if (!answer) return unexpected(std::move(answer.error()));
    auto tokens = decode<GssTokens>(*answer);
    if (!tokens) return unexpected(std::move(tokens.error()));
    std::vector<ike::Payload> payloads;
    for (auto& token : tokens->tokens) payloads.push_back(ike::GssToken{std::move(token)});
    return payloads;
  }

  Expected<void, std::string> consume_key_exchange_payloads(Role peer, const ike::ParsedMessage& message) const override {
    if (id_ == 0) return unexpected(error_);
    GssTokens tokens{id_, peer, {}};
    for (const auto& p : message.payloads) {
      if (const auto* token = std::get_if<ike::GssToken>(&p)) tokens.tokens.push_back(token->data);
    }
    auto answer = wardd_.call(kGssConsume, encode(tokens));
    if (!answer) return unexpected(std::move(answer.error()));
    return {};
  }

  Expected<std::vector<ike::Payload>, std::string> build_authentication(Role self, const MainModeTranscript& transcript,
                                                                        Bytes own_id_b) const override {
    if (id_ == 0) return unexpected(error_);
    GssAuthenticate request{id_, self, remote_transcript(transcript), {own_id_b.begin(), own_id_b.end()}, {}};
    auto answer = wardd_.call(kGssAuthenticate, encode(request));
    if (!answer) return unexpected(std::move(answer.error()));
    auto result = decode<GssResult>(*answer);
    if (!result) return unexpected(std::move(result.error()));
    return std::vector<ike::Payload>{ike::Hash{std::move(result->hash)}};
  }

  Expected<void, ike::IkeError> check_authentication(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                                     const ike::ParsedMessage& message) const override {
    return ike::auth::as_authentication_failure(check_hash(peer, transcript, peer_id_b, message));
  }

  Expected<void, std::string> check_hash(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                         const ike::ParsedMessage& message) const {
    if (id_ == 0) return unexpected(error_);
    const auto* hash = message.find<ike::Hash>();
    if (hash == nullptr) return unexpected(std::string("Kerberos: the peer did not send a GSS-wrapped HASH"));
    GssAuthenticate request{id_, peer, remote_transcript(transcript), {peer_id_b.begin(), peer_id_b.end()}, hash->data};
    auto answer = wardd_.call(kGssCheck, encode(request));
    if (!answer) return unexpected(std::move(answer.error()));
    auto result = decode<GssResult>(*answer);
    if (!result) return unexpected(std::move(result.error()));
    peer_ = std::move(result->principal);
    return {};
  }

 private:
  privsep::Endpoint& wardd_;
  const std::uint32_t id_;
  const std::string error_;
  mutable std::string peer_;   // one Phase1Sa uses the object, in message order
};

}  // namespace

std::unique_ptr<ike::auth::AuthProvider> RemoteKerberosProvider::for_exchange(Role self, const IpAddress& peer) const {
  auto answer = wardd_.call(kGssOpen, encode(GssOpen{self, peer}));
  auto opened = answer ? decode<GssExchange>(*answer) : unexpected(std::move(answer.error()));
  if (!opened) return std::make_unique<RemoteKerberosExchange>(wardd_, 0, "Kerberos: " + opened.error());
  return std::make_unique<RemoteKerberosExchange>(wardd_, opened->exchange, std::string());
}

RemoteTranscript remote_transcript(const MainModeTranscript& t) {
  RemoteTranscript out;
  out.hash = t.hash;
  if (t.skeyid != nullptr) out.skeyid = *t.skeyid;
  out.g_xi.assign(t.g_xi.begin(), t.g_xi.end());
  out.g_xr.assign(t.g_xr.begin(), t.g_xr.end());
  out.cky_i.assign(t.cky_i.begin(), t.cky_i.end());
  out.cky_r.assign(t.cky_r.begin(), t.cky_r.end());
  out.sai_b.assign(t.sai_b.begin(), t.sai_b.end());
  return out;
}

SecureBytes RemoteKerberosProvider::skeyid(ike::IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const {
  return ike::auth::skeyid_gss(hash, ni_b, nr_b, g_xy);
}

Expected<std::vector<ike::Payload>, std::string> RemoteKerberosProvider::build_key_exchange_payloads(Role) const {
  return unexpected(misuse());
}

Expected<std::vector<ike::Payload>, std::string> RemoteKerberosProvider::build_authentication(Role, const MainModeTranscript&,
                                                                                             Bytes) const {
  return unexpected(misuse());
}

Expected<void, ike::IkeError> RemoteKerberosProvider::check_authentication(Role, const MainModeTranscript&, Bytes,
                                                                           const ike::ParsedMessage&) const {
  return unexpected(ike::silent(misuse()));
}

}  // namespace ward::agent::ikeproc
