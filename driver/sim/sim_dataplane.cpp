#include "driver/sim/sim_dataplane.h"

namespace ward::driver {

SimDataplane::SimDataplane(DataplaneListener& listener, EngineOptions options, PacketEngine::Clock clock)
    : engine_(listener, options, std::move(clock)) {}

Capabilities SimDataplane::capabilities() const {
  return Capabilities{.userspace_crypto = true, .kernel_sas = false, .atomic_table_swap = true, .holds_packets = true};
}

Expected<void, std::string> SimDataplane::install_filter_table(FilterTable table) {
  engine_.install_table(std::move(table));
  return {};
}

void SimDataplane::keep(std::vector<ReleasedPacket> released) {
  std::lock_guard lock(released_mutex_);
  for (auto& packet : released) {
    const bool sent = packet.disposition == Disposition::AcceptModified || packet.disposition == Disposition::Accept;
    if (sent && !packet.bytes.empty()) released_.push_back(std::move(packet.bytes));
  }
}

Expected<void, std::string> SimDataplane::add_sa(SaInstall sa) {
  auto released = engine_.add_sa(std::move(sa));
  if (!released) return unexpected(released.error());
  keep(std::move(*released));
  return {};
}

Expected<void, std::string> SimDataplane::delete_sa(std::uint32_t spi, crypto::Direction direction) {
  return engine_.delete_sa(spi, direction);
}

Expected<void, std::string> SimDataplane::add_soft_association(SoftAssociation association) {
  auto released = engine_.add_soft_association(association);
  if (!released) return unexpected(released.error());
  keep(std::move(*released));
  return {};
}

Expected<void, std::string> SimDataplane::delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) {
  return engine_.delete_soft_association(filter_id, peer);
}

DataplaneCounters SimDataplane::counters() const { return engine_.counters(); }

PacketOutcome SimDataplane::send(std::span<const std::byte> packet) { return engine_.outbound(packet, next_token_++); }

PacketOutcome SimDataplane::receive(std::span<const std::byte> packet) { return engine_.inbound(packet); }

std::vector<std::vector<std::byte>> SimDataplane::take_released() {
  std::lock_guard lock(released_mutex_);
  std::vector<std::vector<std::byte>> out(std::make_move_iterator(released_.begin()), std::make_move_iterator(released_.end()));
  released_.clear();
  return out;
}

void SimDataplane::tick() { (void)engine_.tick(); }

}  // namespace ward::driver
