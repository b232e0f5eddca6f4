// The sim backend: Ward's userspace dataplane with no kernel underneath. Packets are handed in
// and out as bytes; used by unit tests (IKE's too), dry runs and benchmarks.
#pragma once

#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "driver/api/dataplane.h"
#include "driver/engine/packet_engine.h"

namespace ward::driver {

class SimDataplane final : public Dataplane {
 public:
  explicit SimDataplane(DataplaneListener& listener, EngineOptions options = {},
                        PacketEngine::Clock clock = std::chrono::steady_clock::now);

  Capabilities capabilities() const override;
  Expected<void, std::string> install_filter_table(FilterTable table) override;
  Expected<void, std::string> add_sa(SaInstall sa) override;
  Expected<std::uint32_t, std::string> allocate_spi(crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return engine_.allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, crypto::SecurityProtocol protocol) override {
    return engine_.release_spi(spi, protocol);
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) override;
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, crypto::Direction direction, const IpAddress& peer) override {
    return engine_.delete_sa(spi, direction, &peer);
  }
  Expected<void, std::string> add_soft_association(SoftAssociation association) override;
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override;
  DataplaneCounters counters() const override;

  // A packet this host sends / receives. Held packets come out later through take_released().
  PacketOutcome send(std::span<const std::byte> packet);
  PacketOutcome receive(std::span<const std::byte> packet);
  // Held packets that an SA released (protected, ready for the wire) or a soft association let go
  // (in clear), oldest first.
  std::vector<std::vector<std::byte>> take_released();
  void tick();
  bool expiry_due() const noexcept { return engine_.expiry_due(); }

 private:
  void keep(std::vector<ReleasedPacket> released);

  PacketEngine engine_;
  std::mutex released_mutex_;
  std::deque<std::vector<std::byte>> released_;
  std::uint64_t next_token_ = 1;
};

}  // namespace ward::driver
