// Dataplane decorators the engine installs quick mode SAs through (ike/sa's QuickModeExchange
// takes a driver::Dataplane):
//
//   OutboundAfterMessage3     initiator: holds the outbound SA until the responder has had quick
//                             mode message 3 (the packets held for the flow go out with it)
//   DefaultResponseInstaller  default response responder: each SA brings the dynamic filter for
//                             the negotiated traffic (driver::DynamicSelector)
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/api/dataplane.h"

namespace ward::ike::service {
// The dataplane an initiator's quick mode installs through. While `holding`, outbound SAs wait
// here: installing the outbound SA releases the packets held for the flow, and they must not reach
// the peer before it has processed quick mode message 3, with which it installs its inbound SA (a
// peer that gets ESP first drops it: the first ping through a new tunnel to charon was lost).
// release() installs what waited; the engine calls it IkeServiceOptions::outbound_after_message_3
// after message 3 has been sent.
class OutboundAfterMessage3 final : public driver::Dataplane {
 public:
  explicit OutboundAfterMessage3(driver::Dataplane& inner) : inner_(inner) {}

  void hold() noexcept { holding_ = true; }
  bool waiting() const noexcept { return !waiting_.empty(); }
  Expected<void, std::string> release() {
    holding_ = false;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& sa : waiting) {
      if (auto added = inner_.add_sa(std::move(sa)); !added) return unexpected("installing the outbound SA: " + added.error());
    }
    return {};
  }

  driver::Capabilities capabilities() const override { return inner_.capabilities(); }
  Expected<void, std::string> install_filter_table(driver::FilterTable table) override {
    return inner_.install_filter_table(std::move(table));
  }
  Expected<std::uint32_t, std::string> allocate_spi(driver::crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return inner_.allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, driver::crypto::SecurityProtocol protocol) override {
    return inner_.release_spi(spi, protocol);
  }
  Expected<void, std::string> add_sa(driver::SaInstall sa) override {
    if (holding_ && sa.params.direction == driver::crypto::Direction::Outbound) {
      waiting_.push_back(std::move(sa));
      return {};
    }
    return inner_.add_sa(std::move(sa));
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, driver::crypto::Direction direction) override {
    if (direction == driver::crypto::Direction::Outbound) {
      const auto waiting = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& sa) { return sa.params.spi == spi; });
      if (waiting != waiting_.end()) {
        waiting_.erase(waiting);
        return {};
      }
    }
    return inner_.delete_sa(spi, direction);
  }
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, driver::crypto::Direction direction, const IpAddress& peer) override {
    if (direction == driver::crypto::Direction::Outbound) {
      const auto waiting =
          std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& sa) { return sa.params.spi == spi && sa.peer == peer; });
      if (waiting != waiting_.end()) {
        waiting_.erase(waiting);
        return {};
      }
    }
    return inner_.delete_sa_of_peer(spi, direction, peer);
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    return inner_.add_soft_association(std::move(association));
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    return inner_.delete_soft_association(filter_id, peer);
  }
  driver::DataplaneCounters counters() const override { return inner_.counters(); }

 private:
  driver::Dataplane& inner_;
  bool holding_ = false;
  std::vector<driver::SaInstall> waiting_;
};

// The dataplane a default response quick mode installs through: each of its SAs brings the
// dynamic filter for the traffic the quick mode negotiated.
class DefaultResponseInstaller final : public driver::Dataplane {
 public:
  DefaultResponseInstaller(driver::Dataplane& inner, driver::DynamicSelector selector) : inner_(inner), selector_(selector) {}

  driver::Capabilities capabilities() const override { return inner_.capabilities(); }
  Expected<void, std::string> install_filter_table(driver::FilterTable table) override {
    return inner_.install_filter_table(std::move(table));
  }
  Expected<std::uint32_t, std::string> allocate_spi(driver::crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return inner_.allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, driver::crypto::SecurityProtocol protocol) override {
    return inner_.release_spi(spi, protocol);
  }
  Expected<void, std::string> add_sa(driver::SaInstall sa) override {
    sa.dynamic = selector_;
    return inner_.add_sa(std::move(sa));
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, driver::crypto::Direction direction) override {
    return inner_.delete_sa(spi, direction);
  }
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, driver::crypto::Direction direction, const IpAddress& peer) override {
    return inner_.delete_sa_of_peer(spi, direction, peer);
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    return inner_.add_soft_association(std::move(association));
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    return inner_.delete_soft_association(filter_id, peer);
  }
  driver::DataplaneCounters counters() const override { return inner_.counters(); }

 private:
  driver::Dataplane& inner_;
  driver::DynamicSelector selector_;
};

}  // namespace ward::ike::service
