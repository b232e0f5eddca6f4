// What the in-process exchange tests (exchange_test, kerberos_exchange_test,
// certificate_exchange_test) share: host A (10.20.1.10) and host B (10.20.2.30) with one
// transport-mode filter between them, the main mode and quick mode configurations both ends use
// (what differs between the tests, the proposals and the PFS group, is a parameter), a listener
// that ignores the SimDataplane's acquires and expiries, and the two-way Negotiate filter table
// (service_pair.h's tests use these last two as well).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "driver/api/dataplane.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"

namespace ward::ike::testing {

inline const IpAddress kHostA = *IpAddress::parse("10.20.1.10");
inline const IpAddress kHostB = *IpAddress::parse("10.20.2.30");
inline constexpr std::uint32_t kFilterId = 7;
inline constexpr std::uint32_t kFilterWeight = 32768;
inline const sa::RetransmitPolicy kRetransmit{std::chrono::milliseconds(1000), 2, 3};
inline constexpr std::chrono::seconds kQuickModeLifetime{3600};
inline constexpr std::uint64_t kQuickModeLifetimeKilobytes = 100000;

struct NullDataplaneListener final : driver::DataplaneListener {
  void on_acquire(const driver::Acquire&) override {}
  void on_expiry(const driver::SaExpiry&) override {}
};

// Negotiate for traffic between `local` and `remote`, both directions, under `filter_id`; the
// SAs go to `tunnel_endpoint` when set (tunnel mode), else transport mode.
inline driver::FilterTable negotiate_both_ways(std::uint32_t filter_id, const IpPrefix& local, const IpPrefix& remote,
                                               std::uint32_t weight, std::optional<IpAddress> tunnel_endpoint = {}) {
  using driver::DriverFilter;
  using driver::FilterAction;
  return {{DriverFilter{filter_id, local, remote, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, weight,
                        tunnel_endpoint},
           DriverFilter{filter_id, remote, local, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, weight,
                        tunnel_endpoint}}};
}

// Negotiate between host A and host B, both directions, under kFilterId.
inline driver::FilterTable negotiate_table() {
  return negotiate_both_ways(kFilterId, IpPrefix::host(kHostA), IpPrefix::host(kHostB), kFilterWeight);
}

// Main mode from local to peer offering `proposals`; each log line is appended to `log`.
inline sa::Phase1Config phase1_config(const IpAddress& local, const IpAddress& peer,
                                      std::vector<sa::Phase1Proposal> proposals, std::vector<std::string>& log) {
  sa::Phase1Config c;
  c.proposals = std::move(proposals);
  c.local = local;
  c.peer = peer;
  c.retransmit = kRetransmit;
  c.log = [&log](const std::string& line) { log.push_back(line); };
  return c;
}

// Quick mode between the two hosts (transport mode, kFilterId) offering `esp` (security methods), with `pfs` if set.
inline sa::QuickModeConfig quick_config(const IpAddress& local, const IpAddress& peer, std::vector<sa::ProtectionSuite> esp,
                                        std::optional<IkeGroupDescription> pfs = std::nullopt) {
  sa::QuickModeConfig c;
  c.proposals = std::move(esp);
  c.pfs_group = pfs;
  c.lifetime = kQuickModeLifetime;
  c.lifetime_kilobytes = kQuickModeLifetimeKilobytes;
  c.local = sa::TrafficSelector{IpPrefix::host(local)};
  c.remote = sa::TrafficSelector{IpPrefix::host(peer)};
  c.filter_id = kFilterId;
  c.peer = peer;
  c.retransmit = kRetransmit;
  return c;
}

}  // namespace ward::ike::testing
