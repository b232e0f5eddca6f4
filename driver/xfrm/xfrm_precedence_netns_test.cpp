// "Most specific filter wins" in the kernel: for generated filter tables (random prefixes around a
// few clusters, protocols, single ports and port ranges, permit / block / negotiate; weighted by the
// model's filter_weight and sorted by its takes_precedence, as the compiler does), the filter the
// kernel applies to each of many generated packets must be the one Ward's classifier picks (built
// from the table as the nfqueue engine builds it; the model's first_match agrees with it, checked on
// the way). Two placements, as XfrmDataplane has them:
//   SpdAlone     the whole table as XFRM policies (Spd), as on a kernel without the nftables inet
//                family (User-mode Linux);
//   WithNftables XfrmDataplane itself: permit and block in the nftables table inet ward, the
//                negotiate filters and the allow policies of spd_view.h in the SPD. The two compose
//                as the kernel runs them: the SPD lookup at routing, then the nftables output hook.
//
// The kernel is asked by sending: each packet is a real UDP datagram, TCP SYN (non-blocking
// connect) or ICMP echo from one of the namespace's addresses to an address no one answers from.
//   negotiate  the output policy lookup raises an acquire (sent before the send returns) whose
//              policy priority names the filter (Spd::filter_at; SpdAlone) and whose template reqid
//              is the filter's id;
//   block      SpdAlone: the send fails with EPERM. WithNftables: the block filter's nftables
//              counter counts the packet (and a UDP or ICMP send fails with EPERM);
//   permit     SpdAlone: neither. WithNftables: the permit filter's counter counts it;
//   no filter  neither, nothing counted. Nor are IKE's ports (UDP 500, 4500), which the nftables
//              table passes before its filters, unless a negotiate filter takes them in the SPD.
// The larval states the acquires leave are flushed after each packet. Outbound lookups only: the
// inbound policies carry the same priorities. Needs no ESP (only the SPD and nftables): runs on the
// host.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>

#include "directory/model/compile.h"
#include "directory/model/filter_weight.h"
#include "driver/classifier/classifier.h"
#include "driver/xfrm/xfrm_acquire.h"
#include "driver/xfrm/xfrm_dataplane.h"
#include "driver/xfrm/xfrm_spd.h"
#include "tests/harness/uml_kernel.h"
#include "tests/netns/netns.h"

namespace ward::driver::xfrm {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr std::uint8_t kIcmp = 1;
constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
// The namespace's own addresses (packets leave from these) and the /16 around them, on the veth.
constexpr const char* kLocal[] = {"10.31.0.1", "10.31.0.2", "10.31.64.1", "10.31.200.7"};
constexpr const char* kPeer = "10.31.255.254";
constexpr std::uint32_t kSpace = 0x0a1f0000;  // 10.31.0.0/16
constexpr std::uint16_t kPortPool[] = {53, 80, 88, 135, 389, 443, 445, 500, 1000, 1001, 1433, 3389, 8080};

IpPrefix prefix(std::uint32_t address, unsigned length) {
  const std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
  return *IpPrefix::make(IpAddress::v4(address & mask), length);
}

struct Packet {
  IpAddress source;
  IpAddress destination;
  std::uint8_t protocol = kUdp;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::string describe() const {
    return source.to_string() + ":" + std::to_string(source_port) + " -> " + destination.to_string() + ":" +
           std::to_string(destination_port) + " proto " + std::to_string(protocol);
  }
};

// Filters and packets in 10.31.0.0/16, overlapping on purpose: prefixes around a few destination
// clusters and around the namespace's own addresses, any/single/range ports from a small pool.
class TableGenerator {
 public:
  explicit TableGenerator(std::uint64_t seed) : rng_(seed) {
    for (int i = 0; i < 5; ++i) clusters_.push_back(kSpace | static_cast<std::uint32_t>(rng_() & 0xffff));
  }

  model::CompiledTable table(std::size_t count) {
    const model::ActionKind actions[] = {model::ActionKind::Negotiate, model::ActionKind::Negotiate, model::ActionKind::Negotiate,
                                         model::ActionKind::Block, model::ActionKind::Permit};
    model::CompiledTable table;
    for (std::size_t i = 0; i < count; ++i) {
      model::CompiledFilter f;
      f.source = source_prefix();
      f.destination = destination_prefix();
      const unsigned p = percent();
      f.protocol = p < 30 ? 0 : p < 65 ? kUdp : p < 90 ? kTcp : kIcmp;
      if (f.protocol == kUdp || f.protocol == kTcp) {
        f.source_ports = ports(70);
        f.destination_ports = ports(35);
      }
      f.action = actions[rng_() % 5];
      f.weight = model::filter_weight(f.source, f.destination, f.protocol, f.source_ports, f.destination_ports);
      f.rule_index = rng_() % 12;
      f.filter_index = i;
      table.filters.push_back(f);
    }
    std::stable_sort(table.filters.begin(), table.filters.end(), model::takes_precedence);
    return table;
  }

  // Mostly a packet inside a random filter (so that overlaps are exercised), else anywhere.
  Packet packet(const model::CompiledTable& table) {
    Packet p;
    p.source = *IpAddress::parse(kLocal[rng_() % std::size(kLocal)]);
    const bool inside = percent() < 75;
    const auto& f = table.filters[rng_() % table.filters.size()];
    p.destination = inside ? address_in(f.destination) : IpAddress::v4(kSpace | static_cast<std::uint32_t>(rng_() & 0xffff));
    // Nobody may answer: a reply would pass through the nftables table while the next packet is
    // being judged (and this host's own addresses go through the exempt loopback).
    while (answered(p.destination)) p.destination = IpAddress::v4(p.destination.v4_host_order() ^ 0x100);
    if (inside && f.source.contains(p.source) == false) {
      for (const char* local : kLocal) {
        if (f.source.contains(*IpAddress::parse(local))) p.source = *IpAddress::parse(local);
      }
    }
    const unsigned kind = percent();
    p.protocol = inside && f.protocol != 0 ? f.protocol : kind < 50 ? kUdp : kind < 85 ? kTcp : kIcmp;
    if (p.protocol != kIcmp) {
      p.source_port = inside && percent() < 60 ? port_in(f.source_ports) : static_cast<std::uint16_t>(20000 + rng_() % 40000);
      p.destination_port = inside ? port_in(f.destination_ports) : kPortPool[rng_() % std::size(kPortPool)];
    }
    return p;
  }

 private:
  unsigned percent() { return static_cast<unsigned>(rng_() % 100); }
  static bool answered(const IpAddress& address) {
    if (address == *IpAddress::parse(kPeer)) return true;
    return std::any_of(std::begin(kLocal), std::end(kLocal), [&](const char* local) { return address == *IpAddress::parse(local); });
  }

  IpPrefix source_prefix() {
    const unsigned p = percent();
    const auto local = IpAddress::parse(kLocal[rng_() % std::size(kLocal)])->v4_host_order();
    if (p < 20) return prefix(0, 0);
    if (p < 30) return prefix(kSpace, 16);
    if (p < 55) return IpPrefix::host(IpAddress::v4(local));
    if (p < 85) return prefix(local, 16 + static_cast<unsigned>(rng_() % 17));
    return prefix(kSpace | static_cast<std::uint32_t>(rng_() & 0xffff), 16 + static_cast<unsigned>(rng_() % 17));  // rarely local
  }
  IpPrefix destination_prefix() {
    const unsigned p = percent();
    const std::uint32_t around = clusters_[rng_() % clusters_.size()] ^ static_cast<std::uint32_t>(rng_() & 0xff);
    if (p < 15) return prefix(0, 0);
    if (p < 25) return prefix(kSpace, 16);
    if (p < 45) return IpPrefix::host(IpAddress::v4(around));
    return prefix(around, 16 + static_cast<unsigned>(rng_() % 16));
  }
  ward::PortRange ports(unsigned any_percent) {
    const unsigned p = percent();
    if (p < any_percent) return ward::PortRange::any();
    const std::uint16_t base = kPortPool[rng_() % std::size(kPortPool)];
    if (p < any_percent + (100 - any_percent) / 2) return ward::PortRange::single(base);
    const std::uint16_t width = static_cast<std::uint16_t>(1 + rng_() % 1500);
    return ward::PortRange{base, static_cast<std::uint16_t>(std::min<unsigned>(65535U, base + width))};
  }
  IpAddress address_in(const IpPrefix& p) {
    std::uint32_t address = p.address().v4_host_order();
    const unsigned length = std::max(p.length(), 16U);  // stay in 10.31.0.0/16 (the veth's route)
    if (p.length() < 16) address = kSpace;
    const std::uint32_t host_bits = length == 32 ? 0 : (std::uint32_t{1} << (32 - length)) - 1;
    return IpAddress::v4((address & ~host_bits) | (static_cast<std::uint32_t>(rng_()) & host_bits));
  }
  std::uint16_t port_in(const ward::PortRange& r) {
    return static_cast<std::uint16_t>(r.first + rng_() % (std::uint32_t{r.last} - r.first + 1));
  }

  std::mt19937_64 rng_;
  std::vector<std::uint32_t> clusters_;
};

// What decides a packet's fate, in words both sides can be compared in.
std::string verdict(FilterAction action, std::uint32_t id) {
  switch (action) {
    case FilterAction::Block: return "block";
    case FilterAction::Permit: return "pass";
    case FilterAction::Negotiate: return "negotiate filter " + std::to_string(id);
  }
  return "?";
}

bool matches(const DriverFilter& f, const Packet& p) {
  if (!f.source.contains(p.source) || !f.destination.contains(p.destination)) return false;
  if (f.protocol != 0 && f.protocol != p.protocol) return false;
  const auto any = [](const auto& r) { return r.first == 0 && r.last == 65535; };
  const auto in = [](const auto& r, std::uint16_t port) { return r.first <= port && port <= r.last; };
  if (any(f.source_ports) && any(f.destination_ports)) return true;
  return (p.protocol == kTcp || p.protocol == kUdp) && in(f.source_ports, p.source_port) && in(f.destination_ports, p.destination_port);
}

// UDP that the nftables table passes as IKE's before its filters (kernel_table.cpp, emit_base).
bool ike_exempt(const Packet& p) {
  return p.protocol == kUdp && (p.source_port == kIkePort || p.destination_port == kIkePort || p.source_port == kNatTraversalPort);
}

ClassifierPtr build_classifier(const FilterTable& table) {
  // As driver/engine/packet_engine.cpp: rank r weighs (max - r), so the first match in table order wins.
  std::vector<ClassifierRule> rules;
  for (std::size_t i = 0; i < table.filters.size(); ++i) {
    const auto& f = table.filters[i];
    rules.push_back({Prefix{Address::v4(f.source.address().v4_host_order()), static_cast<std::uint8_t>(f.source.length())},
                     Prefix{Address::v4(f.destination.address().v4_host_order()), static_cast<std::uint8_t>(f.destination.length())},
                     f.protocol, driver::PortRange{f.source_ports.first, f.source_ports.last},
                     driver::PortRange{f.destination_ports.first, f.destination_ports.last},
                     static_cast<std::uint32_t>(UINT32_MAX - i), static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)});
  }
  auto built = Classifier::build(rules);
  EXPECT_TRUE(built) << built.error().to_string();
  return built ? std::move(*built) : nullptr;
}

sockaddr_in socket_address(const IpAddress& address, std::uint16_t port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_addr.s_addr = htonl(address.v4_host_order());
  out.sin_port = htons(port);
  return out;
}

// Sends `p` from inside the namespace: 0, or the errno of the refused send.
int send_packet(const Packet& p) {
  const int type = p.protocol == kUdp ? SOCK_DGRAM : p.protocol == kTcp ? SOCK_STREAM | SOCK_NONBLOCK : SOCK_RAW;
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, p.protocol == kIcmp ? IPPROTO_ICMP : 0);
  if (fd < 0) return errno;
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto from = socket_address(p.source, p.source_port);
  const auto to = socket_address(p.destination, p.destination_port);
  int error = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
    error = errno;
  } else if (p.protocol == kTcp) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) error = errno;
  } else {
    icmphdr echo{};
    echo.type = ICMP_ECHO;
    const char datagram[] = "ward";
    const void* data = p.protocol == kIcmp ? static_cast<const void*>(&echo) : datagram;
    const std::size_t size = p.protocol == kIcmp ? sizeof echo : sizeof datagram;
    if (::sendto(fd, data, size, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) error = errno;
  }
  ::close(fd);
  return error;
}

Expected<void, int> flush_states(XfrmSocket& socket) {
  nlmsghdr* message = socket.new_message(XFRM_MSG_FLUSHSA);
  auto* flush = static_cast<xfrm_usersa_flush*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_usersa_flush)));
  flush->proto = IPSEC_PROTO_ANY;
  return socket.request(message);
}

enum class Placement { SpdAlone, WithNftables };

struct Case {
  std::uint64_t seed;
  std::size_t filters;
  std::size_t packets;
  Placement placement = Placement::SpdAlone;
};

struct QuietListener : DataplaneListener {
  void on_acquire(const Acquire&) override {}
  void on_expiry(const SaExpiry&) override {}
};

std::vector<std::uint64_t> filter_packets(const XfrmDataplane& dataplane) {
  std::vector<std::uint64_t> out;
  for (const auto& filter : dataplane.counters().filters) out.push_back(filter.packets);
  return out;
}

class XfrmPrecedenceTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    a_ = std::make_unique<Netns>("xprec-a");
    b_ = std::make_unique<Netns>("xprec-b");
    const auto links = ward::testing::connect_veth(*a_, std::string(kLocal[0]) + "/16", *b_, std::string(kPeer) + "/16");
    for (std::size_t i = 1; i < std::size(kLocal); ++i) {
      ASSERT_EQ(a_->exec(std::string("ip addr add ") + kLocal[i] + "/16 dev " + links.first), 0);
    }
  }
  std::unique_ptr<Netns> a_, b_;
};

TEST_P(XfrmPrecedenceTest, TheKernelAppliesTheFilterTheClassifierPicks) {
  const Case c = GetParam();
  TableGenerator generator(c.seed);
  const auto compiled = generator.table(c.filters);
  FilterTable table;
  for (std::size_t i = 0; i < compiled.filters.size(); ++i) {
    const auto& f = compiled.filters[i];
    const FilterAction action = f.action == model::ActionKind::Block    ? FilterAction::Block
                                : f.action == model::ActionKind::Permit ? FilterAction::Permit
                                                                        : FilterAction::Negotiate;
    DriverFilter filter;
    filter.id = static_cast<std::uint32_t>(i + 1);
    filter.source = f.source;
    filter.destination = f.destination;
    filter.protocol = f.protocol;
    filter.source_ports = {f.source_ports.first, f.source_ports.last};
    filter.destination_ports = {f.destination_ports.first, f.destination_ports.last};
    filter.action = action;
    filter.weight = f.weight;
    table.filters.push_back(filter);
  }
  const auto classifier = build_classifier(table);
  ASSERT_TRUE(classifier);

  const bool with_nftables = c.placement == Placement::WithNftables;
  std::map<std::string, int> outcomes;
  std::set<std::uint32_t> negotiated;
  std::vector<std::string> mismatches;
  // Packets whose filter outranks an overlapping filter of the other half of the kernel: a permit or
  // block ahead of a negotiate filter (the SPD must not take them), a negotiate filter ahead of a
  // block or permit (nftables must not decide them).
  int permit_or_block_over_negotiate = 0;
  int negotiate_over_permit_or_block = 0;
  QuietListener listener;
  std::unique_ptr<XfrmDataplane> dataplane;
  a_->run_inside([&] {
    auto requests = XfrmSocket::open();
    ASSERT_TRUE(requests) << requests.error();
    auto acquires = AcquireListener::open();
    ASSERT_TRUE(acquires) << acquires.error();
    Spd spd(**requests);
    if (with_nftables) {
      auto started = XfrmDataplane::start(listener);
      ASSERT_TRUE(started) << started.error();
      dataplane = std::move(*started);
      if (!dataplane->kernel_table_in_use()) {
        ASSERT_TRUE(ward::test::inside_uml()) << "this kernel has nftables: " << dataplane->filter_placement();
        GTEST_SKIP() << dataplane->filter_placement();
      }
      const auto installed = dataplane->install_filter_table(table);
      ASSERT_TRUE(installed) << installed.error();
      std::printf("seed %llu: %zu filters in nftables and the SPD\n", static_cast<unsigned long long>(c.seed), table.filters.size());
    } else {
      const auto installed = spd.install_table(table);
      ASSERT_TRUE(installed) << installed.error();
      std::printf("seed %llu: %zu filters as %zu kernel policies\n", static_cast<unsigned long long>(c.seed), table.filters.size(),
                  installed->policies_added);
    }

    for (std::size_t i = 0; i < c.packets; ++i) {
      const Packet p = generator.packet(compiled);
      // Ward's answer: the classifier's, which must be the model's.
      const PacketKey key{Address::v4(p.source.v4_host_order()), Address::v4(p.destination.v4_host_order()), p.protocol,
                          p.source_port, p.destination_port};
      const auto chosen = classifier->lookup(key);
      const auto reference = model::first_match(compiled, {p.source, p.destination, p.protocol, p.source_port, p.destination_port});
      ASSERT_EQ(chosen.has_value(), reference.has_value()) << p.describe();
      if (chosen) {
        ASSERT_EQ(*chosen, *reference) << p.describe();
      }
      const DriverFilter* winner = chosen ? &table.filters[*chosen] : nullptr;
      std::string expected = winner ? verdict(winner->action, winner->id) : "pass";
      if (with_nftables && (!winner || winner->action != FilterAction::Negotiate)) {
        // nftables decides, and counts the packet for the filter, unless it is IKE's.
        if (!winner || ike_exempt(p)) {
          expected = "pass, counted for no filter";
        } else {
          expected += ", counted for filter " + std::to_string(winner->id);
        }
      }
      if (winner) {
        for (std::size_t later = *chosen + 1; later < table.filters.size(); ++later) {
          if (!matches(table.filters[later], p)) continue;
          const bool negotiate_later = table.filters[later].action == FilterAction::Negotiate;
          const bool negotiate_first = winner->action == FilterAction::Negotiate;
          if (negotiate_later && !negotiate_first) ++permit_or_block_over_negotiate;
          if (!negotiate_later && negotiate_first) ++negotiate_over_permit_or_block;
          if (negotiate_later != negotiate_first) break;
        }
      }

      // The kernel's.
      const auto counted_before = with_nftables ? filter_packets(*dataplane) : std::vector<std::uint64_t>{};
      const int error = send_packet(p);
      std::string kernel = error == EPERM ? "block" : "pass";
      if (error != 0 && error != EPERM) kernel = std::string("send failed: ") + std::strerror(error);
      if (with_nftables) {
        const auto counted_after = filter_packets(*dataplane);
        std::vector<std::size_t> counted;
        for (std::size_t f = 0; f < counted_after.size(); ++f) {
          if (counted_after[f] != counted_before[f]) counted.push_back(f);
        }
        if (counted.empty()) {
          kernel += ", counted for no filter";
        } else if (counted.size() == 1) {
          const auto& filter = table.filters[counted[0]];
          const bool refused_send = error == EPERM;
          // A blocked TCP SYN is dropped after connect() has queued it: only UDP and ICMP sends see EPERM.
          const bool send_as_expected = filter.action == FilterAction::Block ? (refused_send || p.protocol == kTcp) : !refused_send;
          kernel = (filter.action == FilterAction::Block ? "block" : filter.action == FilterAction::Permit ? "pass" : "negotiate?") +
                   std::string(", counted for filter ") + std::to_string(filter.id) +
                   (send_as_expected ? "" : " (the send returned " + std::string(std::strerror(error)) + ")");
        } else {
          kernel += ", counted for " + std::to_string(counted.size()) + " filters";
        }
      }
      for (const auto& acquire : acquires->wait(0ms)) {
        if (with_nftables) {
          kernel = "negotiate filter " + std::to_string(acquire.reqid);
        } else {
          const auto id = spd.filter_at(acquire.policy_priority);
          kernel = "negotiate filter " + (id ? std::to_string(*id) : "? (priority " + std::to_string(acquire.policy_priority) + ")");
          if (id && acquire.reqid != *id) kernel += " (template reqid " + std::to_string(acquire.reqid) + ")";
        }
        ASSERT_TRUE(flush_states(**requests));
      }
      ++outcomes[expected.rfind("negotiate", 0) == 0 ? "negotiate" : expected.substr(0, expected.find(','))];
      if (winner && winner->action == FilterAction::Negotiate) negotiated.insert(winner->id);
      if (kernel != expected) {
        mismatches.push_back(p.describe() + ": Ward's classifier says " + expected + " (" +
                             (chosen ? "filter " + std::to_string(winner->id) + " at rank " + std::to_string(*chosen)
                                     : std::string("no filter")) +
                             "), the kernel " + kernel);
      }
    }
  });
  if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return;
  dataplane.reset();
  std::printf("packets: %d block, %d pass, %d negotiate (%zu distinct negotiate filters); %d permit/block over a negotiate filter, "
              "%d negotiate over a permit/block filter; %zu disagreements\n",
              outcomes["block"], outcomes["pass"], outcomes["negotiate"], negotiated.size(), permit_or_block_over_negotiate,
              negotiate_over_permit_or_block, mismatches.size());
  for (std::size_t i = 0; i < std::min<std::size_t>(mismatches.size(), 10); ++i) ADD_FAILURE() << mismatches[i];
  EXPECT_TRUE(mismatches.empty());
  // The generated set exercises every verdict, many filters, and precedence across the two halves.
  EXPECT_GT(outcomes["block"], 0);
  EXPECT_GT(outcomes["pass"], 0);
  EXPECT_GT(negotiated.size(), c.filters / 8);
  EXPECT_GT(permit_or_block_over_negotiate, 0);
  EXPECT_GT(negotiate_over_permit_or_block, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, XfrmPrecedenceTest,
                         ::testing::Values(Case{1, 60, 400}, Case{2, 120, 400}, Case{3, 250, 500},
                                           Case{1, 60, 400, Placement::WithNftables}, Case{2, 120, 400, Placement::WithNftables},
                                           Case{3, 250, 500, Placement::WithNftables}),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.placement == Placement::WithNftables ? "WithNftables" : "SpdAlone") +
                                  "Seed" + std::to_string(param.param.seed);
                         });

}  // namespace
}  // namespace ward::driver::xfrm
