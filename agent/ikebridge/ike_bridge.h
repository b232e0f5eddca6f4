// The directory model as IKE's policy: what ike::service::PolicyLookup asks, answered from the
// policy the agent applied last.
//
//   KeyExchangeSettings            -> phase 1 proposals (offers.h: decided once per apply, weak
//   FilterAction.security_methods  -> quick mode ESP/AH/AH+ESP suites    offers skipped with a reason)
//   Rule.auth_methods              -> AuthProviders (AuthFactory), in the rule's order
//   compiled filter                -> traffic selectors (initiator) / the filter a peer's
//                                     quick mode IDs fall under (responder: first in precedence)
//   default response rule          -> the responder's answer when no filter covers the peer's
//                                     quick mode (a dynamic filter), and its main mode methods
//   FilterAction.fallback_to_...   -> QuickModePolicy::fallback_to_clear (initiator)
//
// PolicyBridge holds one immutable BridgeSnapshot and replaces it atomically on every policy
// apply; lookups (IKE's event thread) see the old or the new one, never half of each.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/ikebridge/offers.h"
#include "agent/translate/translate.h"
#include "directory/model/compile.h"
#include "directory/model/policy.h"
#include "ike/service/ike_service.h"

namespace ward::ike::auth {
class CertificateCredentials;
}

namespace ward::agent::ikebridge {

using ike::IkeAuthenticationMethod;
using ike::IkeEncryptionAlgorithm;
using ike::IkeGroupDescription;
using ike::IkeHashAlgorithm;

// ---- authentication ----------------------------------------------------------------------------

struct KerberosSettings {
  std::string keytab_path;
  std::string own_principal;
  // The peer's service principal for an address ("host/server.example.com@EXAMPLE.COM").
  std::function<std::optional<std::string>(const IpAddress&)> peer_principal;
};

using AuthProviderPtr = std::shared_ptr<const ike::auth::AuthProvider>;
using CertificateCredentialsPtr = std::shared_ptr<const ike::auth::CertificateCredentials>;

// Makes an AuthProvider for one of a rule's auth methods. Preshared keys are built in; Kerberos
// needs a maker set by the build that has it, otherwise make() says "not supported by this
// build"; certificates need the host's credentials (enable_certificates), otherwise make() says
// that none are configured.
class AuthFactory {
 public:
  // One provider for every peer: it finds each peer's principal itself (KerberosSettings::peer_principal).
  using KerberosMaker = std::function<Expected<AuthProviderPtr, std::string>(const KerberosSettings&)>;

  void enable_kerberos(KerberosSettings settings, KerberosMaker maker) {
    kerberos_ = std::move(settings);
    kerberos_maker_ = std::move(maker);
  }
  // This host's certificate, key and trust store ([certificates] in ward.conf); each rule's
  // certificate method then names which trusted CA its peers' certificates must chain to. Called
  // again when the files are reloaded, also while make() runs on other threads; copies of a
  // factory share the credentials (a reload reaches the copy a PolicyBridge holds).
  void enable_certificates(CertificateCredentialsPtr credentials) {
    const std::lock_guard lock(certificates_->mutex);
    certificates_->credentials = std::move(credentials);
  }
  CertificateCredentialsPtr certificates() const {
    const std::lock_guard lock(certificates_->mutex);
    return certificates_->credentials;
  }
  // Whatever the peer: a method's provider serves every peer (wardd's IKE process gets each rule's
  // methods made once per policy, phase1_table.h).
  Expected<AuthProviderPtr, std::string> make(const model::AuthMethod& method) const;

 private:
  struct CertificateSlot {
    std::mutex mutex;
    CertificateCredentialsPtr credentials;
  };
  std::optional<KerberosSettings> kerberos_;
  KerberosMaker kerberos_maker_;
  std::shared_ptr<CertificateSlot> certificates_ = std::make_shared<CertificateSlot>();
};

// ---- the lookup --------------------------------------------------------------------------------

struct BridgeSnapshot {
  model::Policy policy;
  model::CompiledTable compiled;        // fail-closed rules' filters already block (enforce_fail_closed)
  translate::Translation translation;   // table in the compiled table's order, with ids
  OfferPlan offers;                     // plan_offers(policy, host setting)
};

// The negotiate filters of `current` whose SAs may stay after `previous` is replaced: the filter
// existed before and is still negotiated on the same terms (its rule's filter action methods and
// PFS, authentication methods and tunnel, and the key exchange settings). SAs of the others were
// agreed on terms the policy no longer holds and must be renegotiated.
std::vector<std::uint32_t> filters_negotiated_on_same_terms(const BridgeSnapshot& previous, const BridgeSnapshot& current);

// What every phase 1 answer of a snapshot shares: the main mode proposals, legacy algorithms and
// quick mode limit (no auth); or why there are no proposals.
Expected<ike::service::Phase1Policy, std::string> phase1_terms(const BridgeSnapshot& s);
// How a refusal names one of a rule's auth methods that cannot be used, and why.
std::string unusable_method(const model::Rule& rule, const std::string& why);

class PolicyBridge final : public ike::service::PolicyLookup {
 public:
  explicit PolicyBridge(AuthFactory factory) : factory_(std::move(factory)) {}

  void replace(std::shared_ptr<const BridgeSnapshot> snapshot);
  // Reloaded [certificates]: the main modes that start from now on use them.
  void replace_certificates(CertificateCredentialsPtr credentials) { factory_.enable_certificates(std::move(credentials)); }
  std::shared_ptr<const BridgeSnapshot> current() const;
  const AuthFactory& auth() const { return factory_; }
  // The ids of every negotiate filter in the current snapshot (for IkeService::retain_filters).
  std::vector<std::uint32_t> negotiate_filter_ids() const;

  Expected<ike::service::Phase1Policy, std::string> phase1_for(const IpAddress& local, const IpAddress& peer,
                                                              std::optional<std::uint32_t> filter_id) const override;
  Expected<ike::service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& acquire) const override;
  Expected<ike::service::QuickModePolicy, ike::service::PolicyRefusal> quick_mode_for_peer(
      const IpAddress& local, const IpAddress& peer, const ike::sa::TrafficSelector& peer_side,
      const ike::sa::TrafficSelector& our_side) const override;

 private:
  Expected<ike::service::QuickModePolicy, std::string> quick_mode_for_filter(const BridgeSnapshot& s, std::size_t index) const;
  // The default response rule's answer to a quick mode no filter covers.
  Expected<ike::service::QuickModePolicy, std::string> default_response(const BridgeSnapshot& s, const ike::sa::TrafficSelector& our_side,
                                                                         const ike::sa::TrafficSelector& peer_side) const;

  AuthFactory factory_;
  mutable std::mutex mutex_;
  std::shared_ptr<const BridgeSnapshot> snapshot_;
};

}  // namespace ward::agent::ikebridge
