// `[driver] sa_lifetime_limit`: every SA the dataplane installs expires after at most this long,
// whatever IKE negotiated (Windows' smallest quick mode lifetime is 300 s). The soft expiry comes
// at two thirds of the limit, leaving a third for the rekey it starts; the hard expiry deletes the
// SA. The dataplane's own expiries (the kernel's XFRM_MSG_EXPIRE with xfrm, the engine's clock with
// nfqueue) drive IKE exactly as a negotiated lifetime does, so this is how the time-based rekey is
// tested in seconds rather than minutes; a site may also use it to keep keys shorter-lived than its
// directory's policy says.
#pragma once

#include <chrono>
#include <memory>

#include "driver/api/dataplane.h"

namespace ward::agent::daemon {

// The lifetime `negotiated` within `limit` (zero fields of SaLifetime mean "no limit").
driver::SaLifetime limit_lifetime(const driver::SaLifetime& negotiated, std::chrono::seconds limit);

// Forwards everything to `inner`, with add_sa's lifetime limited.
class LifetimeLimitedDataplane final : public driver::Dataplane {
 public:
  LifetimeLimitedDataplane(driver::DataplanePtr inner, std::chrono::seconds limit) : inner_(std::move(inner)), limit_(limit) {}

  driver::Capabilities capabilities() const override { return inner_->capabilities(); }
  Expected<void, std::string> install_filter_table(driver::FilterTable table) override { return inner_->install_filter_table(std::move(table)); }
  Expected<std::uint32_t, std::string> allocate_spi(driver::crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return inner_->allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, driver::crypto::SecurityProtocol protocol) override {
    return inner_->release_spi(spi, protocol);
  }
  Expected<void, std::string> add_sa(driver::SaInstall sa) override {
    sa.lifetime = limit_lifetime(sa.lifetime, limit_);
    return inner_->add_sa(std::move(sa));
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, driver::crypto::Direction direction) override {
    return inner_->delete_sa(spi, direction);
  }
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, driver::crypto::Direction direction, const IpAddress& peer) override {
    return inner_->delete_sa_of_peer(spi, direction, peer);
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    return inner_->add_soft_association(std::move(association));
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    return inner_->delete_soft_association(filter_id, peer);
  }
  driver::DataplaneCounters counters() const override { return inner_->counters(); }
  Expected<void, std::string> prepare_ike_socket(int fd, bool nat_traversal) override { return inner_->prepare_ike_socket(fd, nat_traversal); }

 private:
  driver::DataplanePtr inner_;
  std::chrono::seconds limit_;
};

}  // namespace ward::agent::daemon
