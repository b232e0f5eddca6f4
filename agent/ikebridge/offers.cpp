#include "agent/ikebridge/offers.h"

#include <algorithm>

#include "directory/model/offer_strength.h"

namespace ward::agent::ikebridge {
namespace {

using driver::crypto::Cipher;
using driver::crypto::Integrity;
using ike::IkeEncryptionAlgorithm;
using ike::IkeGroupDescription;
using ike::IkeHashAlgorithm;
using ike::sa::AhProposal;
using ike::sa::EspProposal;
using ike::sa::Phase1Proposal;
using ike::sa::ProtectionSuite;

constexpr std::uint32_t kSecondsPerMinute = 60;

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

// A method the model accepts but Ward's IKE or driver cannot do is skipped like a weak one.
Expected<Phase1Proposal, std::string> phase1_of(const model::KeyExchangeMethod& m, std::chrono::seconds lifetime) {
  Phase1Proposal p;
  p.lifetime = lifetime;
  switch (m.cipher) {
    case model::Cipher::Aes128Cbc: p.cipher = IkeEncryptionAlgorithm::AesCbc; p.key_bits = 128; break;
    case model::Cipher::Aes256Cbc: p.cipher = IkeEncryptionAlgorithm::AesCbc; p.key_bits = 256; break;
    case model::Cipher::TripleDes: p.cipher = IkeEncryptionAlgorithm::TripleDesCbc; break;
    default: return unexpected(model::display_name(m.cipher) + " is not supported for main mode");
  }
  switch (m.integrity) {
    case model::Integrity::Md5: p.hash = IkeHashAlgorithm::Md5; break;
    case model::Integrity::Sha1: p.hash = IkeHashAlgorithm::Sha; break;
    case model::Integrity::Sha256: p.hash = IkeHashAlgorithm::Sha2_256; break;
    case model::Integrity::Sha384: p.hash = IkeHashAlgorithm::Sha2_384; break;
    case model::Integrity::None: return unexpected(std::string("main mode needs an integrity algorithm"));
  }
  switch (m.dh_group) {
    case model::DhGroup::Modp1024: p.group = IkeGroupDescription::Modp1024; break;
    case model::DhGroup::Modp2048: p.group = IkeGroupDescription::Modp2048; break;
    case model::DhGroup::Ecp256: p.group = IkeGroupDescription::Ecp256; break;
    case model::DhGroup::Ecp384: p.group = IkeGroupDescription::Ecp384; break;
    case model::DhGroup::Modp768: return unexpected(std::string("group 1 is broken"));
  }
  return p;
}

Expected<Integrity, std::string> integrity_of(model::Integrity integrity, const char* protocol) {
  switch (integrity) {
    case model::Integrity::Md5: return Integrity::HmacMd5_96;
    case model::Integrity::Sha1: return Integrity::HmacSha1_96;
    case model::Integrity::Sha256: return Integrity::HmacSha256_128;
    case model::Integrity::None: return Integrity::None;
    case model::Integrity::Sha384: break;
  }
  return unexpected(model::display_name(integrity) + " is not supported for " + protocol + " (MD5, SHA-1 or SHA-256)");
}

Expected<EspProposal, std::string> esp_of(const model::EspTransform& esp) {
  EspProposal p;
  const bool gcm = esp.cipher == model::Cipher::Aes128Gcm || esp.cipher == model::Cipher::Aes256Gcm;
  switch (esp.cipher) {
    case model::Cipher::Aes128Gcm: p.cipher = Cipher::AesGcm128; break;
    case model::Cipher::Aes256Gcm: p.cipher = Cipher::AesGcm256; break;
    case model::Cipher::Aes128Cbc: p.cipher = Cipher::AesCbc128; break;
    case model::Cipher::Aes256Cbc: p.cipher = Cipher::AesCbc256; break;
    case model::Cipher::TripleDes: p.cipher = Cipher::TripleDesCbc; break;
    case model::Cipher::None: p.cipher = Cipher::Null; break;
    default: return unexpected(model::display_name(esp.cipher) + " is not supported for ESP");
  }
  auto integrity = integrity_of(esp.integrity, "ESP");
  if (!integrity) return unexpected(std::move(integrity).error());
  p.integrity = *integrity;
  if (!gcm && p.integrity == Integrity::None) return unexpected(std::string("ESP without GCM needs an integrity algorithm"));
  if (gcm && p.integrity != Integrity::None) return unexpected(std::string("AES-GCM with a separate integrity algorithm"));
  return p;
}

Expected<ProtectionSuite, std::string> suite_of(const model::SecurityMethod& method) {
  ProtectionSuite suite;
  if (method.ah) {
    auto integrity = integrity_of(method.ah->integrity, "AH");
    if (!integrity) return unexpected(std::move(integrity).error());
    if (*integrity == Integrity::None) return unexpected(std::string("AH needs an integrity algorithm"));
    suite.ah = AhProposal{*integrity};
  }
  if (method.esp) {
    auto esp = esp_of(*method.esp);
    if (!esp) return unexpected(std::move(esp).error());
    suite.esp = *esp;
  }
  if (!suite.ah && !suite.esp) return unexpected(std::string("a security method needs AH, ESP or both"));
  return suite;
}

std::string joined(const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& text : texts) out += (out.empty() ? "" : "; ") + text;
  return out;
}

}  // namespace

Phase1Offers phase1_proposals(const model::KeyExchangeSettings& settings, bool allow_legacy) {
  Phase1Offers out;
  const std::chrono::seconds lifetime(static_cast<std::int64_t>(settings.lifetime_minutes) * kSecondsPerMinute);
  for (std::size_t i = 0; i < settings.methods.size(); ++i) {
    const auto& method = settings.methods[i];
    const auto offer = model::offer_text(method, i);
    if (const auto weak = model::weak_offer_reason(method, allow_legacy)) {
      out.skipped.push_back(model::skipped_text(offer, *weak));
      continue;
    }
    auto p = phase1_of(method, lifetime);
    if (!p) {
      out.skipped.push_back(model::skipped_text(offer, p.error()));
      continue;
    }
    out.proposals.push_back(*p);
  }
  return out;
}

Expected<QuickModeProposals, std::string> quick_mode_proposals(const model::FilterAction& action,
                                                               const model::KeyExchangeSettings& settings, bool allow_legacy) {
  if (action.kind != model::ActionKind::Negotiate) return unexpected("filter action \"" + action.name + "\" does not negotiate");
  QuickModeProposals out;
  out.allow_legacy = allow_legacy;
  for (std::size_t i = 0; i < action.security_methods.size(); ++i) {
    const auto& method = action.security_methods[i];
    const auto offer = model::offer_text(method, i);
    if (const auto weak = model::weak_offer_reason(method, allow_legacy)) {
      out.skipped.push_back(model::skipped_text(offer, *weak));
      continue;
    }
    auto suite = suite_of(method);
    if (!suite) {
      out.skipped.push_back(model::skipped_text(offer, suite.error()));
      continue;
    }
    if (out.proposals.empty()) {
      out.lifetime = std::chrono::seconds(method.lifetime_seconds);
      out.lifetime_kilobytes = method.lifetime_kilobytes;
    }
    out.proposals.push_back(*suite);
  }
  if (action.quick_mode_pfs || settings.master_key_pfs) {
    // Windows uses main mode's group for session key PFS: here the first method main mode offers.
    const auto main_mode = phase1_proposals(settings, allow_legacy);
    if (main_mode.proposals.empty()) return unexpected(std::string("quick mode PFS needs a usable key exchange method for its group"));
    out.pfs_group = main_mode.proposals.front().group;
  }
  return out;
}

const FailClosedRule* OfferPlan::fail_closed_rule(std::size_t rule_index) const {
  const auto it = std::find_if(fail_closed.begin(), fail_closed.end(), [&](const FailClosedRule& r) { return r.rule_index == rule_index; });
  return it == fail_closed.end() ? nullptr : &*it;
}

OfferPlan plan_offers(const model::Policy& policy, bool host_allows_legacy) {
  OfferPlan plan;
  plan.allow_legacy = policy.allow_legacy_algorithms && host_allows_legacy;
  auto main_mode = phase1_proposals(policy.key_exchange, plan.allow_legacy);
  plan.main_mode = std::move(main_mode.proposals);
  for (auto& text : main_mode.skipped) plan.skipped.push_back({"key exchange settings", std::move(text)});

  std::map<model::Guid, bool> used;   // negotiate actions of active rules
  for (const auto& rule : policy.rules) {
    if (rule.active) used[rule.filter_action] = true;
  }
  for (const auto& action : policy.filter_actions) {
    if (action.kind != model::ActionKind::Negotiate || !used.contains(action.id)) continue;
    const auto object = "filter action " + quoted(model::display_name(policy, action));
    auto q = quick_mode_proposals(action, policy.key_exchange, plan.allow_legacy);
    if (!q) {
      plan.unusable_actions[action.id] = object + ": " + q.error();
      continue;
    }
    for (const auto& text : q->skipped) plan.skipped.push_back({object, text});
    if (q->proposals.empty()) {
      plan.unusable_actions[action.id] = object + " has no usable security method (" + joined(q->skipped) + ")";
      continue;
    }
    plan.actions.emplace(action.id, std::move(*q));
  }

  const std::string no_main_mode =
      "the key exchange settings have no usable method (" + joined([&] {
        std::vector<std::string> texts;
        for (const auto& s : plan.skipped) {
          if (s.object == "key exchange settings") texts.push_back(s.text);
        }
        return texts;
      }()) + ")";
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    const auto& rule = policy.rules[i];
    const auto* action = policy.find_filter_action(rule.filter_action);
    if (!rule.active || action == nullptr || action->kind != model::ActionKind::Negotiate) continue;
    std::string reason;
    if (plan.main_mode.empty()) reason = no_main_mode;
    else if (const auto unusable = plan.unusable_actions.find(action->id); unusable != plan.unusable_actions.end()) reason = unusable->second;
    if (!reason.empty()) plan.fail_closed.push_back({i, model::display_name(rule), std::move(reason)});
  }
  return plan;
}

std::size_t enforce_fail_closed(model::CompiledTable& table, const OfferPlan& plan) {
  std::size_t changed = 0;
  for (auto& filter : table.filters) {
    if (filter.action == model::ActionKind::Negotiate && plan.fail_closed_rule(filter.rule_index) != nullptr) {
      filter.action = model::ActionKind::Block;
      filter.tunnel_endpoint.reset();
      ++changed;
    }
  }
  if (changed != 0) std::stable_sort(table.filters.begin(), table.filters.end(), model::takes_precedence);
  return changed;
}

}  // namespace ward::agent::ikebridge
