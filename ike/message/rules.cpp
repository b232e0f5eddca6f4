#include "ike/message/rules.h"

namespace ward::ike {

namespace {

using PT = PayloadType;

constexpr PayloadRule rule(PT type, std::uint8_t min, std::uint8_t max) { return {type, min, max}; }

constexpr MessageRules main_mode_sa(MessageKind kind, std::string_view description, Direction direction) {
  MessageRules r{kind, description, ExchangeType::IdentityProtection, direction, false, MessageIdRule::Zero,
                 PT::None, {}, 0, {}};
  r.payloads = {rule(PT::SecurityAssociation, 1, 1), rule(PT::VendorId, 0, kMaxVendorIdPayloads)};
  r.payload_count = 2;
  return r;
}

constexpr MessageRules main_mode_ke(MessageKind kind, std::string_view description, Direction direction) {
  MessageRules r{kind, description, ExchangeType::IdentityProtection, direction, false, MessageIdRule::Zero,
                 PT::None, {}, 0, {}};
  r.payloads = {rule(PT::KeyExchange, 1, 1), rule(PT::Nonce, 1, 1),
                rule(PT::NatDiscovery, 0, kMaxNatDiscoveryPayloads),
                rule(PT::CertificateRequest, 0, kMaxCertificateRequestPayloads),
                rule(PT::VendorId, 0, kMaxVendorIdPayloads), rule(PT::Gss, 0, kMaxGssPayloads)};
  r.payload_count = 6;
  return r;
}

constexpr MessageRules main_mode_auth(MessageKind kind, std::string_view description, Direction direction) {
  MessageRules r{kind, description, ExchangeType::IdentityProtection, direction, true, MessageIdRule::Zero,
                 PT::None, {}, 0, {PT::Hash, PT::Signature, 1, 1}};
  r.payloads = {rule(PT::Identification, 1, 1), rule(PT::Hash, 0, 1), rule(PT::Signature, 0, 1),
                rule(PT::Certificate, 0, kMaxCertificatePayloads),
                rule(PT::CertificateRequest, 0, kMaxCertificateRequestPayloads),
                rule(PT::Notification, 0, kMaxNotificationPayloads),
                rule(PT::VendorId, 0, kMaxVendorIdPayloads)};
  r.payload_count = 7;
  return r;
}

constexpr MessageRules quick_mode_sa(MessageKind kind, std::string_view description, Direction direction,
                                     std::uint8_t max_notify) {
  MessageRules r{kind, description, ExchangeType::QuickMode, direction, true, MessageIdRule::NonZero,
                 PT::Hash, {}, 0, {}};
  r.payloads = {rule(PT::Hash, 1, 1), rule(PT::SecurityAssociation, 1, 1), rule(PT::Nonce, 1, 1),
                rule(PT::KeyExchange, 0, 1), rule(PT::Identification, 0, 2),
                rule(PT::NatOriginalAddress, 0, 2), rule(PT::Notification, 0, max_notify)};
  r.payload_count = 7;
  return r;
}

constexpr MessageRules quick_mode_3() {
  MessageRules r{MessageKind::QuickModeMessage3, "quick mode message 3 (I->R: HASH(3))", ExchangeType::QuickMode,
                 Direction::InitiatorToResponder, true, MessageIdRule::NonZero, PT::Hash, {}, 0, {}};
  r.payloads = {rule(PT::Hash, 1, 1)};
  r.payload_count = 1;
  return r;
}

constexpr MessageRules informational_protected() {
  MessageRules r{MessageKind::InformationalProtected, "informational (protected: HASH(1) N|D)",
                 ExchangeType::Informational, Direction::Either, true, MessageIdRule::NonZero, PT::Hash,
                 {}, 0, {PT::Notification, PT::Delete, 1, kMaxNotificationPayloads + kMaxDeletePayloads}};
  r.payloads = {rule(PT::Hash, 1, 1), rule(PT::Notification, 0, kMaxNotificationPayloads),
                rule(PT::Delete, 0, kMaxDeletePayloads)};
  r.payload_count = 3;
  return r;
}

constexpr MessageRules informational_unprotected() {
  MessageRules r{MessageKind::InformationalUnprotected, "informational (unprotected: N)",
                 ExchangeType::Informational, Direction::Either, false, MessageIdRule::Any, PT::None,
                 {}, 0, {}};
  r.payloads = {rule(PT::Notification, 1, 1), rule(PT::VendorId, 0, kMaxVendorIdPayloads)};
  r.payload_count = 2;
  return r;
}

constexpr std::array<MessageRules, kMessageKindCount> kRules = {
    main_mode_sa(MessageKind::MainModeMessage1, "main mode message 1 (I->R: SA)", Direction::InitiatorToResponder),
    main_mode_sa(MessageKind::MainModeMessage2, "main mode message 2 (R->I: SA)", Direction::ResponderToInitiator),
    main_mode_ke(MessageKind::MainModeMessage3, "main mode message 3 (I->R: KE Ni [GSS])", Direction::InitiatorToResponder),
    main_mode_ke(MessageKind::MainModeMessage4, "main mode message 4 (R->I: KE Nr [GSS])", Direction::ResponderToInitiator),
    main_mode_auth(MessageKind::MainModeMessage5, "main mode message 5 (I->R: IDii HASH_I|SIG_I)",
                   Direction::InitiatorToResponder),
    main_mode_auth(MessageKind::MainModeMessage6, "main mode message 6 (R->I: IDir HASH_R|SIG_R)",
                   Direction::ResponderToInitiator),
    quick_mode_sa(MessageKind::QuickModeMessage1, "quick mode message 1 (I->R: HASH(1) SA Ni)",
                  Direction::InitiatorToResponder, 0),
    quick_mode_sa(MessageKind::QuickModeMessage2, "quick mode message 2 (R->I: HASH(2) SA Nr)",
                  Direction::ResponderToInitiator, kMaxNotificationPayloads),
    quick_mode_3(),
    informational_protected(),
    informational_unprotected(),
};

// The table is indexed by MessageKind; this keeps the order honest at compile time.
constexpr bool table_in_order() {
  for (std::size_t i = 0; i < kRules.size(); ++i) {
    if (static_cast<std::size_t>(kRules[i].kind) != i) return false;
    if (kRules[i].payload_count > kMaxRulesPerMessage) return false;
  }
  return true;
}
static_assert(table_in_order(), "kRules must list every MessageKind in enum order");

}  // namespace

const MessageRules& rules_for(MessageKind kind) noexcept { return kRules[static_cast<std::size_t>(kind)]; }

std::string_view name(MessageKind kind) noexcept { return rules_for(kind).description; }

}  // namespace ward::ike
