// QuickModeExchange's protection suites (RFC 2408 4.2): what we offer, and which of the peer's
// suites we take. The transforms themselves are ipsec_transforms.h's.
#include <algorithm>

#include "ike/sa/ipsec_transforms.h"
#include "ike/sa/nat_traversal.h"
#include "ike/sa/quick_mode.h"

namespace ward::ike::sa {


std::string QuickModeExchange::unusable_here(const ProtectionSuite& suite) const {
  if (!suite.ah && !suite.esp) return "a suite needs AH, ESP or both";
  if (suite.ah && config_.udp_encapsulation) return "AH cannot cross the NAT main mode detected";
  if (suite.bundle() && config_.tunnel) return "AH+ESP bundles are transport mode only";
  if (suite.legacy() && !config_.allow_legacy) return "3DES and HMAC-MD5 are legacy and our policy does not allow legacy algorithms";
  return {};
}

std::vector<Proposal> QuickModeExchange::make_proposals() const {
  TransformAttributes attributes;
  attributes.group = config_.pfs_group;
  attributes.lifetime = config_.lifetime;
  if (config_.lifetime_kilobytes != 0) attributes.kilobytes = config_.lifetime_kilobytes;
  attributes.mode = encapsulation_mode(config_.tunnel.has_value(), config_.udp_encapsulation.has_value());
  std::vector<Proposal> out;
  std::uint8_t number = 1;
  for (const auto& suite : config_.proposals) {
    if (!unusable_here(suite).empty()) continue;
    // RFC 2408 4.2: one proposal number per suite; AH+ESP is two proposal payloads with it.
    if (suite.ah) out.push_back(Proposal{number, ProtocolId::IpsecAh, spi_bytes(own_ah_spi_), {encode_ah_transform(*suite.ah, attributes)}});
    if (suite.esp) {
      out.push_back(Proposal{number, ProtocolId::IpsecEsp, spi_bytes(own_esp_spi_), {encode_esp_transform(*suite.esp, attributes)}});
    }
    ++number;
  }
  return out;
}

namespace {

// PFS and encapsulation as our policy needs them; the same for every transform of a suite.
Expected<void, std::string> check_attributes(const std::string& where, const TransformAttributes& a, const QuickModeConfig& config) {
  if (a.group != config.pfs_group) {
    return unexpected(where + ": PFS group " + (a.group ? std::to_string(static_cast<unsigned>(*a.group)) : std::string("none")) +
                      " does not match our policy (" +
                      (config.pfs_group ? std::to_string(static_cast<unsigned>(*config.pfs_group)) : std::string("none")) + ")");
  }
  if (is_tunnel(a.mode) != config.tunnel.has_value() || is_udp_encapsulated(a.mode) != config.udp_encapsulation.has_value()) {
    return unexpected(where + ": encapsulation mode " + std::to_string(static_cast<unsigned>(a.mode)) + ", our policy needs " +
                      std::to_string(static_cast<unsigned>(encapsulation_mode(config.tunnel.has_value(),
                                                                              config.udp_encapsulation.has_value()))) +
                      (config.tunnel ? " (tunnel" : " (transport") +
                      (config.udp_encapsulation ? ", UDP-encapsulated behind a NAT)" : ")"));
  }
  return {};
}

}  // namespace

Expected<QuickModeExchange::SuiteChoice, std::string> QuickModeExchange::read_suite(std::span<const Proposal* const> proposals) const {
  const std::string where = "proposal " + std::to_string(proposals.empty() ? 0 : proposals.front()->number);
  const Proposal* ah = nullptr;
  const Proposal* esp = nullptr;
  for (const auto* p : proposals) {
    if (p->spi.size() != kIpsecSpiSize) return unexpected(where + ": SPI of " + std::to_string(p->spi.size()) + " bytes, 4 expected");
    if (spi_value(p->spi) < kFirstUsableSpi) return unexpected(where + ": SPI " + std::to_string(spi_value(p->spi)) + " is reserved");
    if (p->protocol == ProtocolId::IpsecAh && ah == nullptr) ah = p;
    else if (p->protocol == ProtocolId::IpsecEsp && esp == nullptr) esp = p;
    else return unexpected(where + ": " + std::string(name(p->protocol)) + " (alone, twice or with another) is not a suite Ward accepts: ESP, AH or AH+ESP");
  }
  std::string refused;
  // Each protocol's acceptable transforms, in the peer's order (none present: one empty option).
  std::vector<std::pair<std::optional<AhTransformChoice>, const Transform*>> ah_options{{std::nullopt, nullptr}};
  if (ah) {
    ah_options.clear();
    for (const auto& t : ah->transforms) {
      auto choice = parse_ah_transform(t);
      if (!choice) refused += "; " + choice.error();
      else ah_options.emplace_back(std::move(*choice), &t);
    }
  }
  std::vector<std::pair<std::optional<EspTransformChoice>, const Transform*>> esp_options{{std::nullopt, nullptr}};
  if (esp) {
    esp_options.clear();
    for (const auto& t : esp->transforms) {
      auto choice = parse_esp_transform(t);
      if (!choice) refused += "; " + choice.error();
      else esp_options.emplace_back(std::move(*choice), &t);
    }
  }
  for (const auto& [ah_choice, ah_transform] : ah_options) {
    for (const auto& [esp_choice, esp_transform] : esp_options) {
      ProtectionSuite suite;
      if (ah_choice) suite.ah = ah_choice->proposal;
      if (esp_choice) suite.esp = esp_choice->proposal;
      Expected<void, std::string> checked{};
      if (ah_choice) checked = check_attributes("AH transform " + std::to_string(ah_transform->number), ah_choice->attributes, config_);
      if (checked && esp_choice) {
        checked = check_attributes("ESP transform " + std::to_string(esp_transform->number), esp_choice->attributes, config_);
      }
      if (!checked) {
        refused += "; " + where + ": " + checked.error();
        continue;
      }
      if (const auto why = unusable_here(suite); !why.empty()) {
        refused += "; " + where + ": " + describe(suite) + ": " + why;
        continue;
      }
      if (std::find(config_.proposals.begin(), config_.proposals.end(), suite) == config_.proposals.end()) {
        refused += "; " + where + ": " + describe(suite) + " is not in our policy";
        continue;
      }
      SuiteChoice out;
      out.suite = suite;
      for (const auto* p : proposals) {
        Proposal narrowed = *p;
        narrowed.transforms = {p == ah ? *ah_transform : *esp_transform};
        out.proposals.push_back(std::move(narrowed));
      }
      if (ah) out.ah_spi = spi_value(ah->spi);
      if (esp) out.esp_spi = spi_value(esp->spi);
      const auto& attributes = esp_choice ? esp_choice->attributes : ah_choice->attributes;
      out.lifetime = attributes.lifetime;
      out.kilobytes = attributes.kilobytes;
      return out;
    }
  }
  return unexpected(refused.empty() ? where + ": no transform" : refused.substr(2));
}

}  // namespace ward::ike::sa
