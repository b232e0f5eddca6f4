// ClassBench-style rule sets and packet traces, generated deterministically (after Taylor and
// Turner, "ClassBench: a packet classification benchmark", IEEE/ACM ToN 2007), without their seed
// files: the three families differ in the ways the paper describes.
//  - acl (access control lists): mostly specific destinations (/32 and long prefixes), specific
//    sources, almost always TCP or UDP, an exact destination port, the source port any.
//  - fw (firewalls): many wildcard addresses and protocols, and port ranges on both sides
//    (1024-65535, 0-1023, arbitrary ranges).
//  - ipc (IP chains): in between.
// Addresses nest as in real tables: /8 blocks hold /16 networks, which hold /24 subnets, which
// hold hosts, so prefixes of one table overlap. Weights are Ward's (see directory/model/
// filter_weight.h: address specificity, then a named protocol, then port specificity), which is
// what the driver receives; the rule's position is the tie-break.
// Traces: 90 % of packets are drawn from inside a random rule (ClassBench's trace generator does
// the same), 10 % are random headers over the same address blocks.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "driver/classifier/classifier.h"

namespace ward::driver::bench {

enum class RuleSetKind { Acl, Fw, Ipc };

inline const char* name_of(RuleSetKind kind) {
  switch (kind) {
    case RuleSetKind::Acl: return "acl";
    case RuleSetKind::Fw: return "fw";
    case RuleSetKind::Ipc: return "ipc";
  }
  return "?";
}

// A distribution over a few choices given as percentages that add up to 100.
struct Choice {
  unsigned percent;
  int value;
};

class ClassBenchGenerator {
 public:
  ClassBenchGenerator(RuleSetKind kind, AddressFamily family, std::uint64_t seed) : kind_(kind), family_(family), rng_(seed) {
    for (int i = 0; i < kBlocks; ++i) blocks_.push_back(static_cast<std::uint32_t>(rng_()));
    for (int i = 0; i < kNetworks; ++i) networks_.push_back(descend(blocks_[rng_() % blocks_.size()], 8));
    for (int i = 0; i < kSubnets; ++i) subnets_.push_back(descend(networks_[skewed(networks_.size())], 16));
  }

  std::vector<ClassifierRule> rules(std::size_t count) {
    std::vector<ClassifierRule> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) out.push_back(rule(static_cast<std::uint32_t>(i)));
    return out;
  }

  std::vector<PacketKey> trace(const std::vector<ClassifierRule>& rules, std::size_t count) {
    std::vector<PacketKey> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      out.push_back(rng_() % 100 < 90 ? inside(rules[rng_() % rules.size()]) : random_header());
    }
    return out;
  }

 private:
  static constexpr int kBlocks = 24;      // "/8"s
  static constexpr int kNetworks = 300;   // "/16"s
  static constexpr int kSubnets = 3000;   // "/24"s

  // Lengths are written on IPv4's scale (0..32); IPv6 multiplies by 4 (a /24 subnet is a /96).
  struct Profile {
    std::vector<Choice> source_length;       // value: 0 any, 32 host, else a band's first length (+0..7)
    std::vector<Choice> destination_length;
    std::vector<Choice> protocol;            // value: protocol number, 0 any
    std::vector<Choice> source_ports;        // value: PortShape
    std::vector<Choice> destination_ports;
  };
  enum PortShape { kAnyPort, kExact, kHighRange, kLowRange, kArbitraryRange };

  const Profile& profile() const {
    static const Profile acl{{{15, 0}, {30, 32}, {30, 24}, {20, 16}, {5, 8}},
                             {{5, 0}, {60, 32}, {25, 24}, {10, 16}},
                             {{85, 6}, {10, 17}, {3, 1}, {2, 0}},
                             {{98, kAnyPort}, {2, kHighRange}},
                             {{75, kExact}, {10, kHighRange}, {5, kArbitraryRange}, {10, kAnyPort}}};
    static const Profile fw{{{40, 0}, {20, 32}, {20, 24}, {15, 16}, {5, 8}},
                            {{25, 0}, {35, 32}, {25, 24}, {15, 16}},
                            {{45, 6}, {20, 17}, {10, 1}, {25, 0}},
                            {{70, kAnyPort}, {20, kHighRange}, {10, kLowRange}},
                            {{35, kExact}, {15, kHighRange}, {15, kArbitraryRange}, {35, kAnyPort}}};
    static const Profile ipc{{{25, 0}, {35, 32}, {20, 24}, {15, 16}, {5, 8}},
                             {{15, 0}, {45, 32}, {25, 24}, {15, 16}},
                             {{60, 6}, {25, 17}, {5, 1}, {10, 0}},
                             {{85, kAnyPort}, {10, kHighRange}, {5, kExact}},
                             {{55, kExact}, {8, kHighRange}, {7, kArbitraryRange}, {30, kAnyPort}}};
    switch (kind_) {
      case RuleSetKind::Acl: return acl;
      case RuleSetKind::Fw: return fw;
      case RuleSetKind::Ipc: return ipc;
    }
    return acl;
  }

  int pick(const std::vector<Choice>& choices) {
    unsigned roll = static_cast<unsigned>(rng_() % 100);
    for (const auto& c : choices) {
      if (roll < c.percent) return c.value;
      roll -= c.percent;
    }
    return choices.back().value;
  }

  // Index skewed towards small values (a few networks hold most rules, as in real tables).
  std::size_t skewed(std::size_t size) {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    return std::min(size - 1, static_cast<std::size_t>(static_cast<double>(size) * u * u));
  }

  unsigned scale() const { return family_ == AddressFamily::V4 ? 1 : 4; }
  unsigned width() const { return family_ == AddressFamily::V4 ? 32 : 128; }

  // Keeps the top `keep` bits of `base`, the rest random.
  std::uint32_t descend(std::uint32_t base, unsigned keep) {
    const std::uint32_t keep_mask = keep == 0 ? 0 : ~std::uint32_t{0} << (32 - keep);
    return (base & keep_mask) | (static_cast<std::uint32_t>(rng_()) & ~keep_mask);
  }

  // Tables are made on IPv4's scale; an IPv6 address takes each 32 bits from a hash of the IPv4
  // address's leading bytes, so a /8, /16, /24, /32 nest as /32, /64, /96, /128 do.
  Address in_family(std::uint32_t v4) const {
    if (family_ == AddressFamily::V4) return Address::v4(v4);
    std::uint64_t words[4];
    for (unsigned i = 0; i < 4; ++i) {
      std::uint64_t x = (std::uint64_t{v4} >> (24 - 8 * i)) + 0x9E3779B97F4A7C15ULL * (i + 1);
      x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
      x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
      words[i] = (x ^ (x >> 31)) & 0xFFFFFFFFULL;
    }
    return Address::v6((words[0] << 32) | words[1], (words[2] << 32) | words[3]);
  }

  // An IPv4-scale address in the nested blocks whose top `length` bits are meaningful.
  std::uint32_t address_for(unsigned length) {
    if (length >= 24) return descend(subnets_[skewed(subnets_.size())], 24);
    if (length >= 16) return descend(networks_[skewed(networks_.size())], 16);
    return descend(blocks_[rng_() % blocks_.size()], 8);
  }

  Prefix prefix(const std::vector<Choice>& lengths) {
    const int band = pick(lengths);
    if (band <= 0) return Prefix::any(family_);
    unsigned length = static_cast<unsigned>(band);
    if (band < 32) length = static_cast<unsigned>(band) + static_cast<unsigned>(rng_() % 8);  // within the band
    const unsigned real = std::min(width(), length * scale());
    return {mask(in_family(address_for(length)), real), static_cast<std::uint8_t>(real)};
  }

  static Address mask(Address a, unsigned length) {
    const auto top = [](unsigned bits) { return bits == 0 ? 0 : ~std::uint64_t{0} << (64 - bits); };
    if (a.family == AddressFamily::V4) return Address::v4(static_cast<std::uint32_t>(a.high & (top(length) >> 32)));
    return Address::v6(a.high & top(std::min(length, 64U)), a.low & top(length > 64 ? length - 64 : 0));
  }

  std::uint16_t well_known_port() {
    static constexpr std::uint16_t kPorts[] = {80, 443, 53, 25, 22, 21, 23, 110, 143, 389, 636, 445, 139, 135,
                                               88, 500, 4500, 1433, 3306, 5432, 8080, 8443, 3389, 123, 161, 162};
    if (rng_() % 4 == 0) return static_cast<std::uint16_t>(1024 + rng_() % 64000);
    return kPorts[skewed(std::size(kPorts))];
  }

  PortRange ports(int shape) {
    switch (shape) {
      case kExact: return PortRange::single(well_known_port());
      case kHighRange: return {1024, 65535};
      case kLowRange: return {0, 1023};
      case kArbitraryRange: {
        const auto first = static_cast<std::uint16_t>(1024 + rng_() % 60000);
        return {first, static_cast<std::uint16_t>(first + rng_() % 512)};
      }
      default: return PortRange::any();
    }
  }

  static unsigned port_specificity(const PortRange& r) {
    if (r.is_any()) return 0;
    const std::uint32_t w = std::uint32_t{r.last} - r.first + 1;
    if (w == 1) return 16;
    return std::max(1U, 16U - static_cast<unsigned>(std::bit_width(w - 1)));
  }

  std::uint32_t ward_weight(const ClassifierRule& r) const {
    const unsigned k = family_ == AddressFamily::V4 ? 4 : 1;
    const std::uint32_t address = (r.source.length + r.destination.length) * k;
    return (address << 8) | (r.protocol != kAnyProtocol ? 1U << 7 : 0U) |
           (port_specificity(r.source_ports) + port_specificity(r.destination_ports));
  }

  ClassifierRule rule(std::uint32_t index) {
    const Profile& p = profile();
    ClassifierRule r;
    r.source = prefix(p.source_length);
    r.destination = prefix(p.destination_length);
    r.protocol = static_cast<std::uint8_t>(pick(p.protocol));
    if (r.protocol == kProtocolTcp || r.protocol == kProtocolUdp || r.protocol == kAnyProtocol) {
      r.source_ports = ports(pick(p.source_ports));
      r.destination_ports = ports(pick(p.destination_ports));
    }
    r.weight = ward_weight(r);
    r.tie_break = index;
    r.id = index;
    return r;
  }

  Address point_in(const Prefix& p) {
    const Address random = family_ == AddressFamily::V4 ? Address::v4(static_cast<std::uint32_t>(rng_())) : Address::v6(rng_(), rng_());
    const Address host_bits{family_, random.high ^ mask(random, p.length).high, random.low ^ mask(random, p.length).low};
    return {family_, p.address.high | host_bits.high, p.address.low | host_bits.low};
  }

  std::uint16_t port_in(const PortRange& r) {
    return static_cast<std::uint16_t>(r.first + rng_() % (std::uint32_t{r.last} - r.first + 1));
  }

  PacketKey inside(const ClassifierRule& r) {
    PacketKey k;
    k.source = point_in(r.source);
    k.destination = point_in(r.destination);
    k.protocol = r.protocol != kAnyProtocol ? r.protocol : (rng_() % 2 ? kProtocolTcp : kProtocolUdp);
    k.source_port = port_in(r.source_ports);
    k.destination_port = port_in(r.destination_ports);
    return k;
  }

  PacketKey random_header() {
    PacketKey k;
    k.source = in_family(address_for(static_cast<unsigned>(rng_() % 33)));
    k.destination = in_family(address_for(static_cast<unsigned>(rng_() % 33)));
    static constexpr std::uint8_t kProtocols[] = {kProtocolTcp, kProtocolTcp, kProtocolUdp, 1};
    k.protocol = kProtocols[rng_() % std::size(kProtocols)];
    k.source_port = static_cast<std::uint16_t>(rng_());
    k.destination_port = rng_() % 2 ? well_known_port() : static_cast<std::uint16_t>(rng_());
    return k;
  }

  RuleSetKind kind_;
  AddressFamily family_;
  std::mt19937_64 rng_;
  std::vector<std::uint32_t> blocks_;
  std::vector<std::uint32_t> networks_;
  std::vector<std::uint32_t> subnets_;
};

}  // namespace ward::driver::bench
