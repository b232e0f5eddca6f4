// Random rules and packets for the classifier's tests (fixed seeds; clustered addresses so that
// rules overlap and packets match, as in real filter tables).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "driver/classifier/classifier.h"

namespace ward::driver::testing {

inline Address mask_address(const Address& a, unsigned length) {
  const auto mask = [](unsigned bits, unsigned width) -> std::uint64_t {
    if (bits == 0) return 0;
    const std::uint64_t all = width == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
    return (all << (width - bits)) & all;
  };
  if (a.family == AddressFamily::V4) return Address::v4(static_cast<std::uint32_t>(a.high & mask(length, 32)));
  return Address::v6(a.high & mask(std::min(length, 64U), 64), a.low & mask(length > 64 ? length - 64 : 0, 64));
}

// The reference: the winning rule's position in `rules` by the documented semantics.
inline std::optional<std::size_t> linear_lookup(std::span<const ClassifierRule> rules, const PacketKey& packet) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!rule_matches(rules[i], packet)) continue;
    if (!best || rule_precedes(rules[i], rules[*best])) best = i;
  }
  return best;
}

class RuleGenerator {
 public:
  explicit RuleGenerator(std::uint64_t seed, unsigned clusters = 16) : rng_(seed) {
    for (unsigned i = 0; i < clusters; ++i) {
      v4_bases_.push_back(Address::v4(static_cast<std::uint32_t>(rng_())));
      v6_bases_.push_back(Address::v6(0x20010db800000000ULL | (rng_() & 0xFFFFFFFFULL), rng_()));
    }
  }

  std::uint64_t next() { return rng_(); }
  bool chance(unsigned percent) { return rng_() % 100 < percent; }

  AddressFamily family(unsigned v6_percent) { return chance(v6_percent) ? AddressFamily::V6 : AddressFamily::V4; }

  // Near a cluster base: some bits of the base kept, the rest random.
  Address address(AddressFamily f) {
    const auto& bases = f == AddressFamily::V4 ? v4_bases_ : v6_bases_;
    const Address base = bases[rng_() % bases.size()];
    const unsigned width = base.bit_width();
    const unsigned keep = static_cast<unsigned>(rng_() % (width + 1));
    const Address random = f == AddressFamily::V4 ? Address::v4(static_cast<std::uint32_t>(rng_())) : Address::v6(rng_(), rng_());
    const Address kept = mask_address(base, keep);
    // host bits from `random`
    Address out = kept;
    const Address random_prefix = mask_address(random, keep);
    out.high |= random.high ^ random_prefix.high;
    out.low |= random.low ^ random_prefix.low;
    return out;
  }

  Prefix prefix(AddressFamily f) {
    const unsigned width = f == AddressFamily::V4 ? 32 : 128;
    unsigned length = 0;
    const auto roll = rng_() % 100;
    if (roll < 20) {
      length = 0;
    } else if (roll < 45) {
      length = width;
    } else if (roll < 60) {
      length = width - static_cast<unsigned>(rng_() % 8);  // long prefixes
    } else {
      length = static_cast<unsigned>(rng_() % (width + 1));
    }
    return {mask_address(address(f), length), static_cast<std::uint8_t>(length)};
  }

  std::uint16_t port() {
    const auto roll = rng_() % 10;
    if (roll == 0) return 0;
    if (roll == 1) return 65535;
    if (roll < 5) return static_cast<std::uint16_t>(rng_() % 1024);
    return static_cast<std::uint16_t>(rng_());
  }

  PortRange ports() {
    const auto roll = rng_() % 100;
    if (roll < 45) return PortRange::any();
    if (roll < 75) return PortRange::single(port());
    if (roll < 85) return {0, port()};
    if (roll < 90) return {port(), 65535};
    std::uint16_t a = port();
    std::uint16_t b = port();
    if (a > b) std::swap(a, b);
    return {a, b};
  }

  std::uint8_t protocol() {
    const auto roll = rng_() % 100;
    if (roll < 30) return kAnyProtocol;
    if (roll < 60) return kProtocolTcp;
    if (roll < 80) return kProtocolUdp;
    if (roll < 90) return 1;  // ICMP
    return static_cast<std::uint8_t>(rng_());
  }

  ClassifierRule rule(AddressFamily f) {
    ClassifierRule r;
    r.source = prefix(f);
    r.destination = prefix(f);
    r.protocol = protocol();
    r.source_ports = chance(70) ? PortRange::any() : ports();
    r.destination_ports = ports();
    r.weight = static_cast<std::uint32_t>(rng_() % 64);  // small range: many ties
    r.tie_break = static_cast<std::uint32_t>(rng_() % 16);
    return r;
  }

  std::vector<ClassifierRule> rules(std::size_t count, unsigned v6_percent) {
    std::vector<ClassifierRule> out;
    for (std::size_t i = 0; i < count; ++i) {
      out.push_back(rule(family(v6_percent)));
      out.back().id = static_cast<std::uint32_t>(i);
    }
    return out;
  }

  // A packet inside `r` (when r can match anything), with a protocol that has ports most times.
  PacketKey packet_in(const ClassifierRule& r) {
    PacketKey p;
    p.source = inside(r.source);
    p.destination = inside(r.destination);
    p.protocol = r.protocol != kAnyProtocol ? r.protocol : protocol_for_packet();
    p.source_port = in_range(r.source_ports);
    p.destination_port = in_range(r.destination_ports);
    return p;
  }

  PacketKey random_packet(unsigned v6_percent) {
    const auto f = family(v6_percent);
    PacketKey p;
    p.source = address(f);
    p.destination = address(f);
    p.protocol = protocol_for_packet();
    p.source_port = port();
    p.destination_port = port();
    return p;
  }

  std::vector<PacketKey> packets(std::span<const ClassifierRule> from, std::size_t count, unsigned v6_percent) {
    std::vector<PacketKey> out;
    for (std::size_t i = 0; i < count; ++i) {
      out.push_back(!from.empty() && chance(70) ? packet_in(from[rng_() % from.size()]) : random_packet(v6_percent));
    }
    return out;
  }

 private:
  std::uint8_t protocol_for_packet() {
    const auto roll = rng_() % 100;
    if (roll < 40) return kProtocolTcp;
    if (roll < 70) return kProtocolUdp;
    if (roll < 80) return 1;
    if (roll < 85) return 58;
    if (roll < 90) return 0;
    return static_cast<std::uint8_t>(rng_());
  }

  Address inside(const Prefix& p) {
    const Address random =
        p.address.family == AddressFamily::V4 ? Address::v4(static_cast<std::uint32_t>(rng_())) : Address::v6(rng_(), rng_());
    const Address random_prefix = mask_address(random, p.length);
    Address out = mask_address(p.address, p.length);
    out.high |= random.high ^ random_prefix.high;
    out.low |= random.low ^ random_prefix.low;
    return out;
  }

  std::uint16_t in_range(const PortRange& r) {
    const auto roll = rng_() % 4;
    if (roll == 0) return r.first;
    if (roll == 1) return r.last;
    return static_cast<std::uint16_t>(r.first + rng_() % (std::uint32_t{r.last} - r.first + 1));
  }

  std::mt19937_64 rng_;
  std::vector<Address> v4_bases_;
  std::vector<Address> v6_bases_;
};

}  // namespace ward::driver::testing
