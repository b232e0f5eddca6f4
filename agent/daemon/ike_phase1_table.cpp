#include "agent/daemon/ike_phase1_table.h"

#include "agent/daemon/ike_process.h"
#include "agent/ikeproc/messages.h"
#include "ike/auth/certificate_provider.h"

namespace ward::agent::daemon {

using ike::IkeAuthenticationMethod;

ikeproc::Phase1Table phase1_table(const ikebridge::BridgeSnapshot& s, const MakeRemoteAuth& make) {
  ikeproc::Phase1Table table;
  for (const auto& f : s.compiled.filters) {
    if (f.action != model::ActionKind::Negotiate) continue;
    table.filters.push_back({f.source, f.destination, f.tunnel_endpoint, static_cast<std::uint32_t>(f.rule_index)});
  }
  for (const auto& [id, origin] : s.translation.origins) table.origins.push_back({id, static_cast<std::uint32_t>(origin.rule_index)});
  if (s.compiled.default_response_rule) table.default_response_rule = static_cast<std::uint32_t>(*s.compiled.default_response_rule);
  for (const auto& rule : s.policy.rules) {
    auto& methods = table.rules.emplace_back().auth;
    for (const auto& method : rule.auth_methods) {
      auto made = make(method);
      if (made) methods.emplace_back(std::move(*made));
      else methods.emplace_back(ikebridge::unusable_method(rule, made.error()));
    }
  }
  if (auto terms = ikebridge::phase1_terms(s)) {
    table.proposals = std::move(terms->proposals);
    table.allow_legacy = terms->allow_legacy;
    table.quick_mode_limit = terms->quick_mode_limit;
  } else {
    table.no_proposals = std::move(terms.error());
  }
  return table;
}

ikeproc::Phase1TableNote phase1_table_note(const ikebridge::BridgeSnapshot& snapshot, const MakeRemoteAuth& make, std::size_t max_body) {
  ikeproc::Phase1TableNote note{phase1_table(snapshot, make)};
  if (ikeproc::encode(note).size() > max_body) note.table.reset();
  return note;
}

Expected<ikeproc::RemoteAuth, std::string> remote_auth(const ikebridge::AuthProviderPtr& provider, KeyHandles& keys,
                                                       ikeproc::GssService& gss) {
  if (provider->method() == IkeAuthenticationMethod::PreSharedKey) return ikeproc::RemoteAuth{provider->method(), keys.handle_for(provider), {}};
  if (const auto* certificate = dynamic_cast<const ike::auth::CertificateProvider*>(provider.get())) {
    return ikeproc::RemoteAuth{provider->method(), kCertificateHandle, certificate->ca_name()};
  }
  if (provider->method() == IkeAuthenticationMethod::Kerberos) {
    gss.use(provider);   // one provider serves every exchange (kerberos_auth.h)
    return ikeproc::RemoteAuth{provider->method(), 0, {}};
  }
  return unexpected("authentication method " + std::to_string(static_cast<unsigned>(provider->method())) +
                    " cannot be used by the IKE process");
}

// ---- IkeProcess: the table to its child ------------------------------------------------------

Expected<ikeproc::RemoteAuth, std::string> IkeProcess::remote_auth(const model::AuthMethod& method) {
  auto provider = bridge_.auth().make(method);
  if (!provider) return unexpected(std::move(provider.error()));
  return daemon::remote_auth(*provider, keys_, gss_);
}

void IkeProcess::send_phase1_table(privsep::Endpoint& child) {
  const auto snapshot = bridge_.current();
  if (!snapshot) return;   // no policy yet: the child asks (kPhase1For) and is refused
  const auto note = phase1_table_note(
      *snapshot, [this](const model::AuthMethod& method) { return remote_auth(method); }, privsep::kMaxBody - sizeof(std::uint64_t));
  if (!note.table) {
    log_.warning("ike-phase1-table-not-sent", {{"why", "larger than a message to the IKE process (" + std::to_string(privsep::kMaxBody) +
                                                           " bytes): it asks wardd for every main mode"}});
  }
  if (auto sent = child.notify(ikeproc::kPhase1Table, ikeproc::encode(note)); !sent) {
    log_.warning("ike-phase1-table-not-sent", {{"why", sent.error()}});
  }
}

}  // namespace ward::agent::daemon
