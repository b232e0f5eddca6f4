#include "ike/service/helpdesk.h"

#include <array>
#include <utility>

namespace ward::ike::service {

namespace {

constexpr std::array<std::pair<NegotiationState, std::string_view>, 4> kStateWords{{
    {NegotiationState::Negotiating, "negotiating"},
    {NegotiationState::Established, "established"},
    {NegotiationState::Failed, "failed"},
    {NegotiationState::Soft, "soft (no IPsec: peer did not answer IKE)"},
}};
static_assert(kStateWords.size() == static_cast<std::size_t>(NegotiationState::Soft) + 1);

struct FailureText {
  FailureKind kind;
  std::string_view name;
  std::string_view words;
};
constexpr std::array<FailureText, 8> kFailureTexts{{
    {FailureKind::NoResponse, "no-response", "no response from peer"},
    {FailureKind::NoPolicy, "no-policy", "no policy configured for this peer or traffic"},
    {FailureKind::NoProposalChosen, "no-proposal-chosen", "no common security methods (no proposal chosen)"},
    {FailureKind::AuthenticationFailed, "authentication-failed", "IKE authentication credentials are unacceptable"},
    {FailureKind::InvalidId, "invalid-id", "the peer's identity or traffic does not match the policy"},
    {FailureKind::TimedOut, "timed-out", "negotiation timed out"},
    {FailureKind::PeerDead, "peer-dead", "peer stopped responding (dead peer detection)"},
    {FailureKind::Other, "other", "negotiation failed"},
}};
static_assert(kFailureTexts.size() == static_cast<std::size_t>(FailureKind::Other) + 1);

}  // namespace

std::string_view helpdesk_words(NegotiationState state) noexcept {
  for (const auto& [value, words] : kStateWords) {
    if (value == state) return words;
  }
  return "?";
}

NegotiationState main_mode_state(sa::Phase1Sa::State state) noexcept {
  switch (state) {
    case sa::Phase1Sa::State::MainMode6Sent:
    case sa::Phase1Sa::State::MainMode6Received: return NegotiationState::Established;
    case sa::Phase1Sa::State::Failed: return NegotiationState::Failed;
    case sa::Phase1Sa::State::Idle:
    case sa::Phase1Sa::State::MainMode1Sent:
    case sa::Phase1Sa::State::MainMode2Sent:
    case sa::Phase1Sa::State::MainMode3Sent:
    case sa::Phase1Sa::State::MainMode4Sent:
    case sa::Phase1Sa::State::MainMode5Sent: break;
  }
  return NegotiationState::Negotiating;
}

NegotiationState quick_mode_state(sa::QuickModeExchange::State state) noexcept {
  switch (state) {
    case sa::QuickModeExchange::State::QuickMode3Sent:
    case sa::QuickModeExchange::State::QuickMode3Received: return NegotiationState::Established;
    case sa::QuickModeExchange::State::Failed: return NegotiationState::Failed;
    case sa::QuickModeExchange::State::Idle:
    case sa::QuickModeExchange::State::QuickMode1Sent:
    case sa::QuickModeExchange::State::QuickMode2Sent: break;
  }
  return NegotiationState::Negotiating;
}

std::string_view helpdesk_words(FailureKind kind) noexcept {
  for (const auto& text : kFailureTexts) {
    if (text.kind == kind) return text.words;
  }
  return "?";
}

std::string_view name(FailureKind kind) noexcept {
  for (const auto& text : kFailureTexts) {
    if (text.kind == kind) return text.name;
  }
  return "?";
}

FailureKind failure_kind(std::optional<NotifyMessageType> type) noexcept {
  if (!type) return FailureKind::Other;
  switch (*type) {
    case NotifyMessageType::NoProposalChosen:
    case NotifyMessageType::AttributesNotSupported:
    case NotifyMessageType::InvalidTransformId: return FailureKind::NoProposalChosen;
    case NotifyMessageType::AuthenticationFailed:
    case NotifyMessageType::InvalidSignature:
    case NotifyMessageType::InvalidHashInformation:
    case NotifyMessageType::InvalidKeyInformation:
    case NotifyMessageType::InvalidCertificate:
    case NotifyMessageType::InvalidCertAuthority:
    case NotifyMessageType::CertificateUnavailable:
    case NotifyMessageType::CertTypeUnsupported:
    case NotifyMessageType::InvalidCertEncoding: return FailureKind::AuthenticationFailed;
    case NotifyMessageType::InvalidIdInformation: return FailureKind::InvalidId;
    default: return FailureKind::Other;
  }
}

}  // namespace ward::ike::service
