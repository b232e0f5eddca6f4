// Quick mode's inbound SPIs (reserved from the dataplane, given back when not used) and the
// negotiated SAs keyed (RFC 2409 5.5 KEYMAT per protocol and SPI) and installed.
#include <algorithm>

#include "ike/sa/quick_mode.h"

namespace ward::ike::sa {
namespace {

using driver::crypto::Cipher;
using driver::crypto::Integrity;

constexpr unsigned kSoftLifetimeNumerator = 9;   // soft expiry at 90 % of the hard lifetime
constexpr unsigned kSoftLifetimeDenominator = 10;
constexpr std::uint64_t kBytesPerKilobyte = 1024;
}  // namespace

Expected<void, std::string> QuickModeExchange::own_spis(bool esp, bool ah) {
  using driver::crypto::SecurityProtocol;
  for (const auto protocol : {SecurityProtocol::Esp, SecurityProtocol::Ah}) {
    if (!(protocol == SecurityProtocol::Esp ? esp : ah)) continue;
    auto spi = dataplane_.allocate_spi(protocol, config_.peer);
    if (!spi) return unexpected("our inbound " + std::string(driver::crypto::name_of(protocol)) + " SPI: " + spi.error());
    reserved_spis_.emplace_back(*spi, protocol);
    (protocol == SecurityProtocol::Esp ? own_esp_spi_ : own_ah_spi_) = *spi;
  }
  return {};
}

void QuickModeExchange::release_own_spis() {
  for (const auto& [spi, protocol] : reserved_spis_) {
    if (auto released = dataplane_.release_spi(spi, protocol); !released) log("giving back inbound SPI " + std::to_string(spi) + ": " + released.error());
  }
  reserved_spis_.clear();
}

driver::crypto::SaParams QuickModeExchange::sa_params(driver::crypto::Direction direction, ProtocolId protocol) {
  const auto& keys = phase1_.keys();
  const bool inbound = direction == driver::crypto::Direction::Inbound;
  const bool esp = protocol == ProtocolId::IpsecEsp;
  const std::uint32_t spi = esp ? (inbound ? own_esp_spi_ : peer_esp_spi_) : (inbound ? own_ah_spi_ : peer_ah_spi_);
  const Cipher cipher = esp ? chosen_.esp->cipher : Cipher::Null;
  const Integrity integrity = esp ? chosen_.esp->integrity : chosen_.ah->integrity;
  const std::size_t enc = driver::crypto::encryption_key_length(cipher);
  const std::size_t integ = driver::crypto::integrity_key_length(integrity);
  const auto material = crypto::keymat(keys.hash, keys.skeyid_d, g_qm_.reveal(), protocol, spi, ni_, nr_, enc + integ);
  driver::crypto::SaParams params;
  params.protocol = esp ? driver::crypto::SecurityProtocol::Esp : driver::crypto::SecurityProtocol::Ah;
  params.spi = spi;
  params.direction = direction;
  params.mode = config_.tunnel ? driver::crypto::Mode::Tunnel : driver::crypto::Mode::Transport;
  params.tunnel = config_.tunnel;
  if (esp) params.udp_encapsulation = config_.udp_encapsulation;
  params.cipher = cipher;
  params.integrity = integrity;
  params.encryption_key = driver::crypto::SecureBytes(material.reveal().first(enc));
  params.integrity_key = driver::crypto::SecureBytes(material.reveal().subspan(enc, integ));
  params.allow_legacy = config_.allow_legacy;
  return params;
}

Expected<void, std::string> QuickModeExchange::install_direction(driver::crypto::Direction direction) {
  if (config_.pfs_group && dh_) {
    auto secret = dh_->shared_secret(peer_ke_);
    if (!secret) return unexpected("PFS: " + secret.error());
    g_qm_ = std::move(*secret);
    dh_.reset();
  }
  const driver::SaLifetime lifetime{
      std::chrono::seconds(config_.lifetime.count() * kSoftLifetimeNumerator / kSoftLifetimeDenominator), config_.lifetime,
      config_.lifetime_kilobytes * kBytesPerKilobyte * kSoftLifetimeNumerator / kSoftLifetimeDenominator,
      config_.lifetime_kilobytes * kBytesPerKilobyte};
  // ESP (with AH bundled around it when the suite has both), or AH alone.
  driver::SaInstall install{sa_params(direction, chosen_.esp ? ProtocolId::IpsecEsp : ProtocolId::IpsecAh), config_.filter_id,
                            config_.peer, lifetime};
  if (chosen_.bundle()) install.bundled_ah = sa_params(direction, ProtocolId::IpsecAh);
  auto added = dataplane_.add_sa(std::move(install));
  if (!added) return unexpected("installing the " + std::string(driver::crypto::name_of(direction)) + " SA: " + added.error());
  if (direction == driver::crypto::Direction::Inbound) {
    inbound_installed_ = true;
    // The SA uses the chosen suite's SPIs (their reservations ended with it); the rest go back.
    std::erase_if(reserved_spis_, [&](const auto& reserved) {
      return reserved.second == driver::crypto::SecurityProtocol::Esp ? chosen_.esp.has_value() : chosen_.ah.has_value();
    });
    release_own_spis();
  }
  return {};
}

Expected<void, std::string> QuickModeExchange::install() {
  if (!inbound_installed_) {
    if (auto in = install_direction(driver::crypto::Direction::Inbound); !in) return in;
  }
  if (auto out = install_direction(driver::crypto::Direction::Outbound); !out) return out;
  g_qm_ = driver::crypto::SecureBytes();
  std::string spis = "inbound SPI " + std::to_string(inbound_spi()) + ", outbound SPI " + std::to_string(outbound_spi());
  if (chosen_.bundle()) {
    spis += " (AH inbound SPI " + std::to_string(own_ah_spi_) + ", outbound SPI " + std::to_string(peer_ah_spi_) + ")";
  }
  log("installed " + describe(chosen_) + " SAs for filter " + std::to_string(config_.filter_id) + ": " + spis);
  return {};
}

}  // namespace ward::ike::sa
