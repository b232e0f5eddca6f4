// The driver's packet classifier: which rule of the filter table applies to a packet.
//
// Semantics (equal to the policy model's reference linear scan, directory/model/compile.cpp
// `matches` / `takes_precedence`): among the rules that match a packet, the highest weight wins;
// equal weights go to the smaller tie-break key, then to the rule inserted first. A rule matches
// when both prefixes contain the packet's addresses (same family), its protocol is any or equal,
// and its port ranges contain the packet's ports; a packet that is neither TCP nor UDP has no
// ports, so only rules whose port ranges are both "any" can match it.
//
// Algorithm: decision trees that split rule space at rule boundaries, HyperSplit-style (Qi, Xu,
// Yang, Li, Li, "Packet classification algorithms: from theory to practice", INFOCOM 2009), over
// rule sets partitioned as in CutSplit (Li, Li, Yang, Zhang, Yang, INFOCOM 2018) and EffiCuts.
//  - Every rule is a box in a few integer dimensions and a packet is a point: a prefix is a range;
//    an IPv6 address is two 64-bit halves, and an aligned prefix is a box in (high, low); a port
//    range is a range in 0..65536, where 65536 is "this packet has no ports" and only an "any" port
//    range reaches it, which encodes the TCP/UDP rule above exactly.
//  - Rules go to one of three trees per family by which addresses are wide (shorter than half the
//    address): specific destination; specific source and wide destination; both wide. So wildcard
//    addresses never get copied across the cuts that separate specific ones in the same dimension
//    (the replication that sinks single-tree cutting on firewall-like sets).
//  - An inner node cuts one dimension at up to 7 values taken from rule boundaries, chosen to make
//    the largest piece smallest with copied rules counted against the cut; a step compares the
//    packet with all 7 at once (one vector compare). A leaf holds at most 24 IPv4 rules (12 IPv6) in
//    precedence order, except at the tree's depth limit. Every lookup walks its tree's whole depth,
//    so the limit is chosen per tree: the shallowest depth whose estimated cost (steps, plus leaf
//    groups compared, on sample packets drawn from the tree's own rules) is lowest; IPv4 depth is
//    2-4 at 10,000 rules. Rules hidden inside a node's region by one stronger rule are dropped.
//  - Leaf rules are stored as boxes (lo, hi - lo per dimension, so "inside" is one unsigned
//    compare), structure-of-arrays in groups of 16 IPv4 or 4 IPv6 rules per dimension: one AVX-512
//    instruction tests a whole IPv4 group in one dimension (AVX2 takes two, SSE2 four; IPv6 one AVX2
//    or AVX-512 instruction, a portable loop without AVX2); at AVX-512 an IPv4 group stops at the
//    first dimension that leaves no lane. The instruction set is chosen at run time (SimdLevel:
//    the build stays plain x86-64; AVX code is compiled per function with target attributes);
//    every level gives the same answers and the tests force each one. The first matching lane is the leaf's strongest
//    match. A rule's rank key sits beside its group; its id and arrival sequence apart, read only for
//    a match (the sequence only to break a tie).
//  - Lookup: a burst of up to 32 packets goes tree by tree, strongest first rule first. All packets
//    walk the first tree together, one step at a time, so their memory latencies overlap; a later
//    tree is walked, the same way, only by the packets whose match it could still beat. A walk is a
//    fixed number of branch-free steps over an array of nodes (a leaf steps to itself). Lookup is
//    const, allocates nothing and writes nothing shared: any number of threads may share one.
//    Figures: driver/bench/RESULTS.md.
// Why not the others: tuple space search costs one hash probe per distinct prefix-length pair, and
// a packet that matches nothing probes them all (hundreds in ClassBench-like sets); HiCuts and
// HyperCuts cut into equal-size pieces, which on sparse address space replicates wildcard rules
// heavily; RFC's tables explode in memory for firewall-like sets; a linear scan is about 70-150x
// slower at 10,000 IPv4 rules (driver/bench/RESULTS.md).
//
// Updates: a built Classifier is immutable, so the driver can publish it through an atomically
// swapped pointer and readers never see half a table. ClassifierBuilder keeps the rule set
// (insert/remove are O(log n) and touch no tree); build() then rebuilds, off to the side, only the
// trees (family x partition) whose rules changed and shares the others with the previous
// Classifier. A full build of 10,000 rules takes 25-40 ms of CPU for IPv4, about 70 ms for IPv6
// (driver/bench/, "build/"): a tree is built at full depth, then again one level shallower while
// the estimated lookup cost improves (those rebuilds reuse the cuts chosen above the limit).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/expected.h"

namespace ward::driver {

inline constexpr std::uint8_t kAnyProtocol = 0;
inline constexpr std::uint8_t kProtocolTcp = 6;
inline constexpr std::uint8_t kProtocolUdp = 17;

enum class AddressFamily : std::uint8_t { V4, V6 };

// An address as two words: IPv4 in `high` (host order, low 32 bits), IPv6 as its two 64-bit
// halves (host order). Made once per packet, so the lookup does no byte shuffling.
struct Address {
  AddressFamily family = AddressFamily::V4;
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  static constexpr Address v4(std::uint32_t host_order) { return {AddressFamily::V4, host_order, 0}; }
  static constexpr Address v6(std::uint64_t high_half, std::uint64_t low_half) {
    return {AddressFamily::V6, high_half, low_half};
  }
  // Network byte order, as in a packet header.
  static Address v4(const std::array<std::uint8_t, 4>& bytes) noexcept;
  static Address v6(const std::array<std::uint8_t, 16>& bytes) noexcept;

  unsigned bit_width() const noexcept { return family == AddressFamily::V4 ? 32 : 128; }
  friend bool operator==(const Address&, const Address&) = default;
};

// Address bits beyond `length` are ignored (as the reference's IpPrefix::contains does).
struct Prefix {
  Address address;
  std::uint8_t length = 0;

  static constexpr Prefix any(AddressFamily family) { return {{family, 0, 0}, 0}; }
  static Prefix host(const Address& address) {
    return {address, static_cast<std::uint8_t>(address.bit_width())};
  }
  bool contains(const Address& candidate) const noexcept;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

// Inclusive; {0, 65535} is "any port".
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 65535;

  static constexpr PortRange any() { return {0, 65535}; }
  static constexpr PortRange single(std::uint16_t port) { return {port, port}; }
  bool is_any() const noexcept { return first == 0 && last == 65535; }
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

struct ClassifierRule {
  Prefix source = Prefix::any(AddressFamily::V4);
  Prefix destination = Prefix::any(AddressFamily::V4);
  std::uint8_t protocol = kAnyProtocol;
  PortRange source_ports = PortRange::any();
  PortRange destination_ports = PortRange::any();
  std::uint32_t weight = 0;      // higher wins
  std::uint32_t tie_break = 0;   // among equal weights, lower wins
  std::uint32_t id = 0;          // opaque to the classifier: what lookup() returns

  friend bool operator==(const ClassifierRule&, const ClassifierRule&) = default;
};

struct PacketKey {
  Address source;
  Address destination;
  std::uint8_t protocol = 0;
  std::uint16_t source_port = 0;       // ignored unless protocol is TCP or UDP
  std::uint16_t destination_port = 0;  // ignored unless protocol is TCP or UDP
};

// The reference semantics, rule by rule (used by tests and by the benchmark's linear baseline).
bool rule_matches(const ClassifierRule& rule, const PacketKey& packet) noexcept;
// True when `a` wins over `b` (higher weight, then lower tie-break).
bool rule_precedes(const ClassifierRule& a, const ClassifierRule& b) noexcept;

struct RuleError {
  std::string field;    // "source", "destination", "source_ports", "destination_ports"
  std::string message;  // with the offending numbers
  std::string to_string() const { return field + ": " + message; }
};

// Rules that can never match anything are refused rather than silently kept.
Expected<bool, RuleError> validate_rule(const ClassifierRule& rule);

struct ClassifierStats {
  std::size_t rules = 0;         // rules held (both families)
  std::size_t nodes = 0;         // tree nodes, inner and leaf
  std::size_t leaf_entries = 0;  // rule copies in leaves (replication shows here)
  std::size_t max_depth = 0;
  std::size_t memory_bytes = 0;  // nodes + leaf entries
};

// The instructions lookups compare with, chosen at run time (the build targets plain x86-64):
// Portable is plain C++; Sse2 is the x86-64 baseline; Avx2; Avx512 (AVX-512F and VL). Each level
// includes the ones before it, and all give the same answers.
enum class SimdLevel : std::uint8_t { Portable, Sse2, Avx2, Avx512 };
// The best level this CPU (and OS) supports: what lookups use unless told otherwise.
SimdLevel best_simd_level() noexcept;
// The level every Classifier's lookups use from now on, process-wide (tests and benchmarks force
// each level). False, and nothing changes, when the CPU lacks it.
bool set_simd_level(SimdLevel level) noexcept;
SimdLevel simd_level() noexcept;
const char* to_string(SimdLevel level) noexcept;

namespace classifier_detail {
struct V4Tree;
struct V6Tree;
// Rules are split into three trees per family by which addresses are wide (shorter than half the
// address): a specific destination (whatever the source), a specific source with a wide
// destination, both wide. A wide address is never copied across the cuts that separate specific
// ones in the same dimension (the idea of EffiCuts and CutSplit); the first tree cuts destinations
// first, so its wide sources are rarely copied (measured in driver/bench/RESULTS.md: two trees
// there instead of four cost little replication and save a walk and a scan per packet).
inline constexpr std::size_t kPartitions = 3;
struct Forest {
  std::array<std::shared_ptr<const V4Tree>, kPartitions> v4;
  std::array<std::shared_ptr<const V6Tree>, kPartitions> v6;
};
}  // namespace classifier_detail

class Classifier;
using ClassifierPtr = std::unique_ptr<const Classifier>;

class Classifier {
 public:
  // Builds from scratch. Rules with equal weight and tie-break keep their order in `rules`.
  static Expected<ClassifierPtr, RuleError> build(std::span<const ClassifierRule> rules);

  // The id of the winning rule, or nothing when no rule matches. Thread-safe, allocation-free.
  std::optional<std::uint32_t> lookup(const PacketKey& packet) const noexcept;
  // The same for a burst of packets (as a queue hands them over): out[i] for packets[i], for the
  // first min(sizes) packets. Faster per packet, since the walks of up to 32 packets overlap.
  void lookup(std::span<const PacketKey> packets, std::span<std::optional<std::uint32_t>> out) const noexcept;

  const ClassifierStats& stats() const noexcept { return stats_; }

 private:
  friend class ClassifierBuilder;
  struct Token {
    explicit Token() = default;
  };

 public:
  // Only build() and ClassifierBuilder can make the Token.
  Classifier(Token token, classifier_detail::Forest forest);

 private:
  // Immutable once built; a builder shares unchanged trees between versions.
  classifier_detail::Forest forest_;
  // The non-empty trees, strongest first rule first: lookup stops at a tree whose strongest rule
  // cannot beat the match it has.
  std::array<const classifier_detail::V4Tree*, classifier_detail::kPartitions> v4_order_{};
  std::array<const classifier_detail::V6Tree*, classifier_detail::kPartitions> v6_order_{};
  std::size_t v4_count_ = 0;
  std::size_t v6_count_ = 0;
  ClassifierStats stats_;
};

// Holds the rule set between versions of the table. Not thread-safe (one writer, the agent's
// apply path); the Classifiers it builds are independent of it.
class ClassifierBuilder {
 public:
  using RuleHandle = std::uint64_t;

  Expected<RuleHandle, RuleError> insert(const ClassifierRule& rule);
  // False when the handle is unknown (already removed, or never issued).
  bool remove(RuleHandle handle);
  void clear();
  std::size_t size() const noexcept { return rules_.size(); }

  // A new Classifier for the current rules; only trees whose rules changed since the last build are
  // rebuilt, the others are shared with the previous Classifier.
  ClassifierPtr build();

 private:
  std::map<RuleHandle, ClassifierRule> rules_;  // handle order is insertion order: the last tie-break
  RuleHandle next_handle_ = 1;
  // Which trees (family x partition) changed since the last build.
  std::array<bool, 2 * classifier_detail::kPartitions> dirty_ = all_dirty();
  static constexpr std::array<bool, 2 * classifier_detail::kPartitions> all_dirty() {
    std::array<bool, 2 * classifier_detail::kPartitions> dirty{};
    dirty.fill(true);
    return dirty;
  }
  classifier_detail::Forest forest_;
};

}  // namespace ward::driver
