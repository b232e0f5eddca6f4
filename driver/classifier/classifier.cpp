#include "driver/classifier/classifier.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <limits>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#define WARD_CLASSIFIER_X86 1
#include <immintrin.h>
// Code for CPUs beyond the x86-64 baseline, selected at run time (see simd_level()).
#define WARD_TARGET_AVX2 __attribute__((target("avx2")))
#define WARD_TARGET_AVX512 __attribute__((target("avx2,avx512f,avx512vl")))
#else
#define WARD_CLASSIFIER_X86 0
#endif

namespace ward::driver {

namespace {

constexpr unsigned kV4Bits = 32;
constexpr unsigned kHalfBits = 64;
constexpr std::uint32_t kProtocolMax = 255;
// The port value a packet without ports (neither TCP nor UDP) is looked up with: only an "any"
// port range, stored as [0, kNoPort], contains it.
constexpr std::uint32_t kNoPort = 65536;

// Children of an inner node at most (one dimension cut at up to 7 values).
constexpr std::size_t kFanout = 8;
// Packets classified together by the batch lookup.
constexpr std::size_t kBatch = 32;
// A leaf holds at most this many rules unless no split separates them or the tree's depth limit
// is reached. With 16-lane IPv4 groups, 16 and 32 measured no better than 24 (driver/bench/RESULTS.md).
template <class Word>
constexpr std::size_t kLeafRules = sizeof(Word) == 4 ? 24 : 12;
// Cache lines of a leaf's first group loaded ahead of the scan in a burst.
constexpr std::size_t kPrefetchLines = 2;
// Below this many rules a node also drops rules hidden by one stronger rule (a quadratic check).
constexpr std::size_t kRedundancyCheckRules = 64;
// Safety nets against pathological rule sets: past these, nodes become leaves (still exact, slower).
constexpr std::size_t kMaxDepth = 64;
constexpr std::size_t kLeafEntryBudgetPerRule = 32;
constexpr std::size_t kLeafEntryBudgetMinimum = 1U << 16;

std::uint64_t load_be(const std::uint8_t* bytes, std::size_t count) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < count; ++i) value = (value << 8) | bytes[i];
  return value;
}

std::uint64_t high_mask(unsigned bits, unsigned width) noexcept {  // the top `bits` of a `width`-bit word
  if (bits == 0) return 0;
  const std::uint64_t all = width == kHalfBits ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
  return (all << (width - bits)) & all;
}

bool has_ports(std::uint8_t protocol) noexcept { return protocol == kProtocolTcp || protocol == kProtocolUdp; }

}  // namespace

Address Address::v4(const std::array<std::uint8_t, 4>& bytes) noexcept {
  return v4(static_cast<std::uint32_t>(load_be(bytes.data(), 4)));
}

Address Address::v6(const std::array<std::uint8_t, 16>& bytes) noexcept {
  return v6(load_be(bytes.data(), 8), load_be(bytes.data() + 8, 8));
}

bool Prefix::contains(const Address& candidate) const noexcept {
  if (candidate.family != address.family) return false;
  if (address.family == AddressFamily::V4) {
    const auto mask = high_mask(std::min<unsigned>(length, kV4Bits), kV4Bits);
    return (address.high & mask) == (candidate.high & mask);
  }
  const unsigned high_bits = std::min<unsigned>(length, kHalfBits);
  const unsigned low_bits = length > kHalfBits ? std::min<unsigned>(length - kHalfBits, kHalfBits) : 0;
  const auto mh = high_mask(high_bits, kHalfBits);
  const auto ml = high_mask(low_bits, kHalfBits);
  return (address.high & mh) == (candidate.high & mh) && (address.low & ml) == (candidate.low & ml);
}

bool rule_matches(const ClassifierRule& rule, const PacketKey& packet) noexcept {
  if (!rule.source.contains(packet.source) || !rule.destination.contains(packet.destination)) return false;
  if (rule.protocol != kAnyProtocol && rule.protocol != packet.protocol) return false;
  if (!has_ports(packet.protocol)) return rule.source_ports.is_any() && rule.destination_ports.is_any();
  return packet.source_port >= rule.source_ports.first && packet.source_port <= rule.source_ports.last &&
         packet.destination_port >= rule.destination_ports.first && packet.destination_port <= rule.destination_ports.last;
}

bool rule_precedes(const ClassifierRule& a, const ClassifierRule& b) noexcept {
  if (a.weight != b.weight) return a.weight > b.weight;
  return a.tie_break < b.tie_break;
}

Expected<bool, RuleError> validate_rule(const ClassifierRule& rule) {
  const auto family_name = [](AddressFamily f) { return f == AddressFamily::V4 ? "IPv4" : "IPv6"; };
  if (rule.source.address.family != rule.destination.address.family) {
    return unexpected(RuleError{"destination", std::string("source is ") + family_name(rule.source.address.family) +
                                                   " but destination is " + family_name(rule.destination.address.family)});
  }
  for (const auto& [field, prefix] : {std::pair{"source", &rule.source}, std::pair{"destination", &rule.destination}}) {
    if (prefix->length > prefix->address.bit_width()) {
      return unexpected(RuleError{field, "prefix length " + std::to_string(prefix->length) + " exceeds " +
                                             std::to_string(prefix->address.bit_width())});
    }
  }
  for (const auto& [field, ports] :
       {std::pair{"source_ports", &rule.source_ports}, std::pair{"destination_ports", &rule.destination_ports}}) {
    if (ports->first > ports->last) {
      return unexpected(RuleError{field, "first port " + std::to_string(ports->first) + " is after last port " +
                                             std::to_string(ports->last)});
    }
  }
  return true;
}

namespace classifier_detail {

using Level = SimdLevel;

// Where a rule stands in precedence: weight (inverted, so smaller wins), tie-break, then the order
// it arrived in. Comparable across trees, so the trees of a family can be built separately.
struct Rank {
  std::uint64_t key = ~std::uint64_t{0};
  std::uint64_t sequence = ~std::uint64_t{0};
};

inline bool stronger(const Rank& a, const Rank& b) noexcept {
  return a.key < b.key || (a.key == b.key && a.sequence < b.sequence);
}

// A rule found in a leaf: its rank's key (from the group, beside the boxes) and its entry, whose
// sequence (the last tie-break) is read only when two keys are equal.
template <class Entry>
struct Match {
  const Entry* entry = nullptr;
  std::uint64_t key = ~std::uint64_t{0};
};

template <class Entry>
inline bool stronger(const Match<Entry>& a, const Match<Entry>& b) noexcept {
  return a.key < b.key || (a.key == b.key && a.entry->sequence < b.entry->sequence);
}

template <class Entry>
inline bool stronger(const Rank& a, const Match<Entry>& b) noexcept {
  return a.key < b.key || (a.key == b.key && a.sequence < b.entry->sequence);
}

// Rules of a leaf sit in groups of kLanes<Word> (8 IPv4 rules, 4 IPv6 rules: 256 bits of each
// dimension), dimension by dimension: one dimension's lo and span of a whole group fill one 64-byte
// cache line, so a group is one line per dimension plus one of the lanes' rank keys (read after a
// match; the rest of a rank, the rule's sequence, sits in its Entry).
template <class Word>
inline constexpr std::size_t kLanes = sizeof(Word) == 4 ? 16 : 4;
inline constexpr std::size_t kCacheLine = 64;

template <class Word, std::size_t D>
struct alignas(kCacheLine) Group {
  struct alignas(kCacheLine) Dim {
    std::array<Word, kLanes<Word>> lo{};
    std::array<Word, kLanes<Word>> span{};
  };
  std::array<Dim, D> dim{};
  std::array<std::uint64_t, kLanes<Word>> rank_key{};  // Rank::key, beside the boxes
};
static_assert(sizeof(Group<std::uint32_t, 5>::Dim) == 2 * kCacheLine && sizeof(Group<std::uint64_t, 7>::Dim) == kCacheLine);

constexpr unsigned all_lanes(std::size_t lanes) noexcept { return (1U << lanes) - 1; }

// Nonzero when a lane contains `key` (key - lo <= span in every dimension, unsigned), and then its
// lowest set bit is the first such lane. One function per SIMD level and word size: Portable is
// plain C++ (and stops at the first matching lane); Sse2 compares four 32-bit lanes per
// instruction (IPv6 has no 64-bit compare there and takes the portable loop); Avx2 a whole group
// per instruction; Avx512 the same with unsigned compares into a mask register (no sign flips).
template <Level L, class Word, std::size_t D>
struct GroupMask {
  static unsigned of(const Group<Word, D>& group, const std::array<Word, D>& key) noexcept {
    for (std::size_t lane = 0; lane < kLanes<Word>; ++lane) {
      bool inside = true;
#pragma GCC unroll 8
      for (std::size_t d = 0; d < D; ++d) inside &= static_cast<Word>(key[d] - group.dim[d].lo[lane]) <= group.dim[d].span[lane];
      if (inside) return 1U << lane;
    }
    return 0;
  }
};

// How many of the ascending `splits` are <= value: the child a node steps to (the same per level).
template <Level L, class Word>
struct SplitsBelow {
  static std::uint32_t of(const std::array<Word, kFanout>& splits, Word value) noexcept {
    std::uint32_t child = 0;
#pragma GCC unroll 8
    for (std::size_t i = 0; i < kFanout; ++i) child += static_cast<std::uint32_t>(value >= splits[i]);
    return child;
  }
};

#if WARD_CLASSIFIER_X86
static_assert(kFanout == 8, "a node's splits are one 256-bit (IPv4) or 512-bit (IPv6) vector");
constexpr std::uint32_t kSign32 = 0x80000000U;
constexpr std::uint64_t kSign64 = 0x8000000000000000ULL;

// SSE2 compares signed: flipping the top bit of both sides turns it into an unsigned compare.
template <std::size_t D>
struct GroupMask<Level::Sse2, std::uint32_t, D> {
  static unsigned of(const Group<std::uint32_t, D>& group, const std::array<std::uint32_t, D>& key) noexcept {
    constexpr std::size_t kQuarters = kLanes<std::uint32_t> / 4;
    const __m128i bias = _mm_set1_epi32(static_cast<int>(kSign32));
    __m128i out[kQuarters];
    for (auto& o : out) o = _mm_setzero_si128();
#pragma GCC unroll 8
    for (std::size_t d = 0; d < D; ++d) {
      const auto* lo = reinterpret_cast<const __m128i*>(group.dim[d].lo.data());
      const auto* span = reinterpret_cast<const __m128i*>(group.dim[d].span.data());
      const __m128i k = _mm_set1_epi32(static_cast<int>(key[d]));
#pragma GCC unroll 4
      for (std::size_t q = 0; q < kQuarters; ++q) {
        out[q] = _mm_or_si128(out[q], _mm_cmpgt_epi32(_mm_xor_si128(_mm_sub_epi32(k, _mm_load_si128(lo + q)), bias),
                                                      _mm_xor_si128(_mm_load_si128(span + q), bias)));
      }
    }
    unsigned outside = 0;
#pragma GCC unroll 4
    for (std::size_t q = 0; q < kQuarters; ++q) {
      outside |= static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(out[q]))) << (4 * q);
    }
    return outside ^ all_lanes(kLanes<std::uint32_t>);
  }
};

template <>
struct SplitsBelow<Level::Sse2, std::uint32_t> {
  static std::uint32_t of(const std::array<std::uint32_t, kFanout>& splits, std::uint32_t value) noexcept {
    const __m128i bias = _mm_set1_epi32(static_cast<int>(kSign32));
    const __m128i v = _mm_set1_epi32(static_cast<int>(value ^ kSign32));
    const __m128i low = _mm_xor_si128(_mm_load_si128(reinterpret_cast<const __m128i*>(splits.data())), bias);
    const __m128i high = _mm_xor_si128(_mm_load_si128(reinterpret_cast<const __m128i*>(splits.data() + 4)), bias);
    // Splits above `value` form a suffix: the child is the index of the first of them.
    const auto above = static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(low, v)))) |
                       (static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(high, v)))) << 4);
    return static_cast<std::uint32_t>(std::countr_zero(above | (1U << kFanout)));
  }
};

// AVX2 and AVX-512 code is compiled for those targets function by function (target attributes):
// the build stays plain x86-64 and the lookup picks a level at run time (simd_level()).
template <std::size_t D>
struct GroupMask<Level::Avx2, std::uint32_t, D> {
  WARD_TARGET_AVX2 static unsigned of(const Group<std::uint32_t, D>& group, const std::array<std::uint32_t, D>& key) noexcept {
    constexpr std::size_t kHalves = kLanes<std::uint32_t> / 8;
    const __m256i bias = _mm256_set1_epi32(static_cast<int>(kSign32));
    __m256i out[kHalves];
    for (auto& o : out) o = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (std::size_t d = 0; d < D; ++d) {
      const auto* lo = reinterpret_cast<const __m256i*>(group.dim[d].lo.data());
      const auto* span = reinterpret_cast<const __m256i*>(group.dim[d].span.data());
      const __m256i k = _mm256_set1_epi32(static_cast<int>(key[d]));
#pragma GCC unroll 2
      for (std::size_t h = 0; h < kHalves; ++h) {
        const __m256i diff = _mm256_sub_epi32(k, _mm256_load_si256(lo + h));
        out[h] = _mm256_or_si256(out[h], _mm256_cmpgt_epi32(_mm256_xor_si256(diff, bias),
                                                            _mm256_xor_si256(_mm256_load_si256(span + h), bias)));
      }
    }
    unsigned outside = 0;
#pragma GCC unroll 2
    for (std::size_t h = 0; h < kHalves; ++h) {
      outside |= static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(out[h]))) << (8 * h);
    }
    return outside ^ all_lanes(kLanes<std::uint32_t>);
  }
};

template <std::size_t D>
struct GroupMask<Level::Avx2, std::uint64_t, D> {
  WARD_TARGET_AVX2 static unsigned of(const Group<std::uint64_t, D>& group, const std::array<std::uint64_t, D>& key) noexcept {
    const __m256i bias = _mm256_set1_epi64x(static_cast<long long>(kSign64));
    __m256i outside = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (std::size_t d = 0; d < D; ++d) {
      const __m256i diff = _mm256_sub_epi64(_mm256_set1_epi64x(static_cast<long long>(key[d])),
                                            _mm256_load_si256(reinterpret_cast<const __m256i*>(group.dim[d].lo.data())));
      const __m256i limit = _mm256_load_si256(reinterpret_cast<const __m256i*>(group.dim[d].span.data()));
      outside = _mm256_or_si256(outside, _mm256_cmpgt_epi64(_mm256_xor_si256(diff, bias), _mm256_xor_si256(limit, bias)));
    }
    return static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(outside))) ^ all_lanes(kLanes<std::uint64_t>);
  }
};

template <>
struct SplitsBelow<Level::Avx2, std::uint32_t> {
  WARD_TARGET_AVX2 static std::uint32_t of(const std::array<std::uint32_t, kFanout>& splits, std::uint32_t value) noexcept {
    const __m256i bias = _mm256_set1_epi32(static_cast<int>(kSign32));
    const __m256i v = _mm256_set1_epi32(static_cast<int>(value ^ kSign32));
    const __m256i s = _mm256_xor_si256(_mm256_load_si256(reinterpret_cast<const __m256i*>(splits.data())), bias);
    const auto above = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(s, v))));
    return static_cast<std::uint32_t>(std::countr_zero(above | (1U << kFanout)));
  }
};

template <>
struct SplitsBelow<Level::Avx2, std::uint64_t> {
  WARD_TARGET_AVX2 static std::uint32_t of(const std::array<std::uint64_t, kFanout>& splits, std::uint64_t value) noexcept {
    const __m256i bias = _mm256_set1_epi64x(static_cast<long long>(kSign64));
    const __m256i v = _mm256_set1_epi64x(static_cast<long long>(value ^ kSign64));
    const auto* at = reinterpret_cast<const __m256i*>(splits.data());
    const __m256i low = _mm256_xor_si256(_mm256_loadu_si256(at), bias);
    const __m256i high = _mm256_xor_si256(_mm256_loadu_si256(at + 1), bias);
    const auto above = static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(low, v)))) |
                       (static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(high, v)))) << 4);
    return static_cast<std::uint32_t>(std::countr_zero(above | (1U << kFanout)));
  }
};

template <std::size_t D>
struct GroupMask<Level::Avx512, std::uint32_t, D> {
  WARD_TARGET_AVX512 static unsigned of(const Group<std::uint32_t, D>& group, const std::array<std::uint32_t, D>& key) noexcept {
    static_assert(kLanes<std::uint32_t> == 16, "an IPv4 group's dimension is one 512-bit vector");
    __mmask16 inside = static_cast<__mmask16>(all_lanes(kLanes<std::uint32_t>));
#pragma GCC unroll 8
    for (std::size_t d = 0; d < D; ++d) {
      const __m512i lo = _mm512_load_si512(group.dim[d].lo.data());
      const __m512i span = _mm512_load_si512(group.dim[d].span.data());
      const __m512i diff = _mm512_sub_epi32(_mm512_set1_epi32(static_cast<int>(key[d])), lo);
      inside = _mm512_mask_cmple_epu32_mask(inside, diff, span);
      if (d + 1 < D && inside == 0) return 0;
    }
    return inside;
  }
};

template <std::size_t D>
struct GroupMask<Level::Avx512, std::uint64_t, D> {
  WARD_TARGET_AVX512 static unsigned of(const Group<std::uint64_t, D>& group, const std::array<std::uint64_t, D>& key) noexcept {
    __mmask8 inside = static_cast<__mmask8>(all_lanes(kLanes<std::uint64_t>));
#pragma GCC unroll 8
    for (std::size_t d = 0; d < D; ++d) {
      const __m256i lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(group.dim[d].lo.data()));
      const __m256i span = _mm256_load_si256(reinterpret_cast<const __m256i*>(group.dim[d].span.data()));
      const __m256i diff = _mm256_sub_epi64(_mm256_set1_epi64x(static_cast<long long>(key[d])), lo);
      inside = _mm256_mask_cmple_epu64_mask(inside, diff, span);
    }
    return inside;
  }
};

template <>
struct SplitsBelow<Level::Avx512, std::uint32_t> {
  WARD_TARGET_AVX512 static std::uint32_t of(const std::array<std::uint32_t, kFanout>& splits, std::uint32_t value) noexcept {
    const __m256i s = _mm256_load_si256(reinterpret_cast<const __m256i*>(splits.data()));
    const unsigned above = _mm256_cmpgt_epu32_mask(s, _mm256_set1_epi32(static_cast<int>(value)));
    return static_cast<std::uint32_t>(std::countr_zero(above | (1U << kFanout)));
  }
};

template <>
struct SplitsBelow<Level::Avx512, std::uint64_t> {
  WARD_TARGET_AVX512 static std::uint32_t of(const std::array<std::uint64_t, kFanout>& splits, std::uint64_t value) noexcept {
    const __m512i s = _mm512_loadu_si512(splits.data());
    const unsigned above = _mm512_cmpgt_epu64_mask(s, _mm512_set1_epi64(static_cast<long long>(value)));
    return static_cast<std::uint32_t>(std::countr_zero(above | (1U << kFanout)));
  }
};
#endif  // WARD_CLASSIFIER_X86

// A decision tree over D dimensions of Word. Nodes sit in one array; an inner node cuts one
// dimension at up to kFanout - 1 values into adjacent children, so a step is a few independent
// compares and one load. A leaf is a node that steps to itself, so a walk is a fixed number of
// branch-free steps (the tree's depth), and the walks of several packets interleave, overlapping
// their memory latencies.
template <class Word, std::size_t D>
struct Tree {
  using Key = std::array<Word, D>;

  struct Node {
    // Ascending; unused ones (and the last, always) are Word's maximum, so a whole node's splits
    // are compared at once.
    alignas(32) std::array<Word, kFanout> splits{};
    std::uint32_t index = 0;   // first child (a leaf: itself)
    std::uint32_t first = 0;   // leaf: first group
    std::uint32_t count = 0;   // leaf: number of rules
    std::uint8_t dim = 0;
    std::uint8_t used = 0;     // splits in use; 0 for a leaf
  };
  // kLanes<Word> rules of a leaf as lo and hi - lo per dimension, so "inside" is one unsigned compare.
  // A leaf's last group is padded with lanes that contain no key (see make_leaf).
  using Group = classifier_detail::Group<Word, D>;
  // What lookup returns, read only for the winner: entries[kLanes<Word> * group + lane].
  struct Entry {
    std::uint64_t sequence = ~std::uint64_t{0};  // Rank::sequence, read only to break a tie of keys
    std::uint32_t id = 0;
  };

  std::vector<Node> nodes;
  std::vector<Group> groups;
  std::vector<Entry> entries;
  Rank best;  // of the strongest rule in the tree
  std::size_t rules = 0;
  std::size_t leaf_entries = 0;
  std::size_t max_depth = 0;

  template <Level L>
  const Node* step(const Node* node, const Key& key) const noexcept {
    const std::uint32_t child = SplitsBelow<L, Word>::of(node->splits, key[node->dim]);
    return nodes.data() + node->index + std::min<std::uint32_t>(child, node->used);
  }

  // The strongest entry of `leaf` containing `key`, if any. Leaves are in precedence order, so
  // the first lane that matches is the leaf's strongest match (entry null when none).
  template <Level L>
  Match<Entry> scan(const Node* leaf, const Key& key) const noexcept {
    const Group* group = groups.data() + leaf->first;
    const std::size_t count = (leaf->count + kLanes<Word> - 1) / kLanes<Word>;
    for (std::size_t g = 0; g < count; ++g) {
      if (const unsigned mask = GroupMask<L, Word, D>::of(group[g], key); mask != 0) {
        const auto lane = static_cast<std::size_t>(std::countr_zero(mask));
        return {entries.data() + kLanes<Word> * (leaf->first + g) + lane, group[g].rank_key[lane]};
      }
    }
    return {};
  }

  // How many groups scan() compares for `key`: up to the first that matches, all when none does.
  std::size_t groups_compared(const Node* leaf, const Key& key) const noexcept {
    const std::size_t count = (leaf->count + kLanes<Word> - 1) / kLanes<Word>;
    for (std::size_t g = 0; g < count; ++g) {
      if (GroupMask<Level::Portable, Word, D>::of(groups[leaf->first + g], key) != 0) return g + 1;
    }
    return count;
  }

  // Starts loading the first group of `leaf` (the scan that follows reads it).
  void prefetch(const Node* leaf) const noexcept {
    const auto* group = reinterpret_cast<const char*>(groups.data() + leaf->first);
#pragma GCC unroll 8
    for (std::size_t d = 0; d < kPrefetchLines; ++d) __builtin_prefetch(group + d * kCacheLine);
  }

  std::size_t memory_bytes() const noexcept {
    return nodes.capacity() * sizeof(Node) + groups.capacity() * sizeof(Group) + entries.capacity() * sizeof(Entry);
  }
};

struct V4Tree : Tree<std::uint32_t, 5> {};
struct V6Tree : Tree<std::uint64_t, 7> {};

}  // namespace classifier_detail

namespace {

using classifier_detail::Tree;
using classifier_detail::V4Tree;
using classifier_detail::V6Tree;

using classifier_detail::Forest;
using classifier_detail::kPartitions;
using classifier_detail::kLanes;
using classifier_detail::Level;
using classifier_detail::Rank;

template <class Word, std::size_t D>
struct Box {
  std::array<Word, D> lo{};
  std::array<Word, D> hi{};
  std::uint32_t id = 0;
  Rank rank;
};

// A node's cut: its dimension and the lower bounds of its pieces after the first (none: a leaf).
template <class Word>
struct NodeCut {
  std::size_t dim = 0;
  std::vector<Word> bounds;
};
// Cuts chosen so far, by node path (child indices from the root). The builds of one tree at
// different depth limits make the same choices above the limit, so only the first build pays for
// choosing them (choose_split's sorting is most of a build).
template <class Word>
using NodeCuts = std::map<std::string, NodeCut<Word>>;

template <class Word, std::size_t D>
class TreeBuilder {
 public:
  using TreeType = Tree<Word, D>;
  using BoxType = Box<Word, D>;

  // `boxes` in precedence order: the first box containing a point is the winner. Nodes at
  // `depth_limit` become leaves.
  TreeBuilder(const std::vector<BoxType>& boxes, std::size_t depth_limit, NodeCuts<Word>& cuts, TreeType& out)
      : boxes_(boxes),
        cuts_(cuts),
        out_(out),
        depth_limit_(depth_limit),
        budget_(std::max(kLeafEntryBudgetMinimum, kLeafEntryBudgetPerRule * boxes_.size())) {}

  void run() {
    out_.rules = boxes_.size();
    if (!boxes_.empty()) out_.best = boxes_.front().rank;
    out_.nodes.emplace_back();
    BoxType region;
    region.hi.fill(std::numeric_limits<Word>::max());
    // The last three dimensions are protocol, source port and destination port, in every tree.
    region.hi[D - 3] = kProtocolMax;
    region.hi[D - 2] = kNoPort;
    region.hi[D - 1] = kNoPort;
    std::vector<std::uint32_t> all(boxes_.size());
    std::iota(all.begin(), all.end(), 0U);
    build(0, std::move(all), region, 0, std::string());
    out_.nodes.shrink_to_fit();
    out_.groups.shrink_to_fit();
    out_.entries.shrink_to_fit();
  }

 private:
  struct Split {
    std::size_t cost = 0;    // rules in the larger child plus rules copied into both
    std::size_t total = 0;   // rules in both children (replication shows here)
    std::size_t dim = D;
    Word value = 0;
  };

  bool covers(const BoxType& box, const BoxType& region) const noexcept {
    for (std::size_t d = 0; d < D; ++d) {
      if (box.lo[d] > region.lo[d] || box.hi[d] < region.hi[d]) return false;
    }
    return true;
  }

  // Drops every rule whose part inside `region` lies inside the part of one stronger rule.
  void drop_redundant(std::vector<std::uint32_t>& rules, const BoxType& region) const {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const BoxType& weak = boxes_[rules[i]];
      bool hidden = false;
      for (std::size_t j = 0; j < kept && !hidden; ++j) {
        const BoxType& strong = boxes_[rules[j]];
        hidden = true;
        for (std::size_t d = 0; d < D && hidden; ++d) {
          hidden = strong.lo[d] <= std::max(weak.lo[d], region.lo[d]) && strong.hi[d] >= std::min(weak.hi[d], region.hi[d]);
        }
      }
      if (!hidden) rules[kept++] = rules[i];
    }
    rules.resize(kept);
  }

  // `path`: the child indices from the root, the node's key in the memo of cuts.
  void build(std::size_t slot, std::vector<std::uint32_t> rules, const BoxType& region, std::size_t depth,
             const std::string& path) {
    // Everything after the first rule that covers the whole region can never win inside it.
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (covers(boxes_[rules[i]], region)) {
        rules.resize(i + 1);
        break;
      }
    }
    if (rules.size() <= kRedundancyCheckRules) drop_redundant(rules, region);
    out_.max_depth = std::max(out_.max_depth, depth);
    if (rules.size() <= kLeafRules<Word> || depth >= depth_limit_ || out_.leaf_entries >= budget_) {
      make_leaf(slot, rules);
      return;
    }
    const auto [memo, fresh] = cuts_.try_emplace(path);
    if (fresh) memo->second = choose_cut(rules, region);
    const NodeCut<Word>& chosen = memo->second;
    if (chosen.bounds.empty()) {
      make_leaf(slot, rules);
      return;
    }
    const std::size_t d = chosen.dim;
    std::vector<Piece> pieces{Piece{region, std::move(rules)}};
    for (const Word bound : chosen.bounds) {
      auto [left, right] = cut(std::move(pieces.back()), d, bound);
      pieces.back() = std::move(left);
      pieces.push_back(std::move(right));
    }
    const auto child = static_cast<std::uint32_t>(out_.nodes.size());
    out_.nodes.resize(out_.nodes.size() + pieces.size());
    auto& node = out_.nodes[slot];
    node.splits.fill(std::numeric_limits<Word>::max());
    for (std::size_t i = 1; i < pieces.size(); ++i) node.splits[i - 1] = pieces[i].region.lo[d];
    node.used = static_cast<std::uint8_t>(pieces.size() - 1);
    node.index = child;
    node.dim = static_cast<std::uint8_t>(d);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      build(child + i, std::move(pieces[i].rules), pieces[i].region, depth + 1, path + static_cast<char>('0' + i));
    }
  }

  struct Piece {
    BoxType region;
    std::vector<std::uint32_t> rules;
  };

  // `piece` below and from `value` on in dimension d, each with the rules that reach into it.
  std::pair<Piece, Piece> cut(Piece piece, std::size_t d, Word value) const {
    Piece left{piece.region, {}};
    Piece right{piece.region, {}};
    left.region.hi[d] = static_cast<Word>(value - 1);
    right.region.lo[d] = value;
    for (const auto r : piece.rules) {
      if (boxes_[r].lo[d] < value) left.rules.push_back(r);
      if (boxes_[r].hi[d] >= value) right.rules.push_back(r);
    }
    return {std::move(left), std::move(right)};
  }

  // The best split, then the same dimension cut further, largest piece first, while that makes
  // pieces smaller (up to kFanout pieces). No bounds when no split makes a piece smaller.
  NodeCut<Word> choose_cut(const std::vector<std::uint32_t>& rules, const BoxType& region) {
    const Split first = choose_split(rules, region, D);
    if (first.dim == D) return {};
    const std::size_t d = first.dim;
    std::vector<Piece> pieces;
    {
      auto [left, right] = cut(Piece{region, rules}, d, first.value);
      pieces.push_back(std::move(left));
      pieces.push_back(std::move(right));
    }
    while (pieces.size() < kFanout) {
      std::size_t largest = 0;
      for (std::size_t i = 1; i < pieces.size(); ++i) {
        if (pieces[i].rules.size() > pieces[largest].rules.size()) largest = i;
      }
      if (pieces[largest].rules.size() <= kLeafRules<Word>) break;
      const Split more = choose_split(pieces[largest].rules, pieces[largest].region, d);
      if (more.dim == D) break;
      auto [left, right] = cut(std::move(pieces[largest]), d, more.value);
      pieces[largest] = std::move(right);
      pieces.insert(pieces.begin() + static_cast<std::ptrdiff_t>(largest), std::move(left));
    }
    NodeCut<Word> chosen{d, {}};
    for (std::size_t i = 1; i < pieces.size(); ++i) chosen.bounds.push_back(pieces[i].region.lo[d]);
    return chosen;
  }

  // The split value, over all dimensions, that makes the larger child smallest; among equals, the
  // one that copies fewest rules. A split is taken only if it makes some child smaller.
  // `only`: the one dimension to consider, or D for all.
  Split choose_split(const std::vector<std::uint32_t>& rules, const BoxType& region, std::size_t only) {
    const std::size_t n = rules.size();
    Split best{std::numeric_limits<std::size_t>::max(), 2 * n, D, 0};
    for (std::size_t d = 0; d < D; ++d) {
      if (region.lo[d] == region.hi[d] || (only != D && d != only)) continue;
      los_.clear();
      his_.clear();
      candidates_.clear();
      for (const auto r : rules) {
        const Word lo = std::max(boxes_[r].lo[d], region.lo[d]);
        const Word hi = std::min(boxes_[r].hi[d], region.hi[d]);
        los_.push_back(lo);
        his_.push_back(hi);
        if (lo > region.lo[d]) candidates_.push_back(lo);
        if (hi < region.hi[d]) candidates_.push_back(static_cast<Word>(hi + 1));
      }
      std::sort(los_.begin(), los_.end());
      std::sort(his_.begin(), his_.end());
      std::sort(candidates_.begin(), candidates_.end());
      candidates_.erase(std::unique(candidates_.begin(), candidates_.end()), candidates_.end());
      std::size_t i = 0;
      std::size_t j = 0;
      for (const Word value : candidates_) {
        while (i < n && los_[i] < value) ++i;
        while (j < n && his_[j] < value) ++j;
        const std::size_t left = i;
        const std::size_t right = n - j;
        const std::size_t larger = std::max(left, right);
        const std::size_t total = left + right;
        if (larger >= n && total >= 2 * n) continue;  // no child gets smaller
        // Balance, with every copied rule counted against the split.
        const std::size_t cost = larger + (total - n);
        if (cost < best.cost || (cost == best.cost && total < best.total)) best = {cost, total, d, value};
      }
    }
    return best;
  }

  void make_leaf(std::size_t slot, const std::vector<std::uint32_t>& rules) {
    auto& node = out_.nodes[slot];
    node.dim = 0;
    node.used = 0;
    node.index = static_cast<std::uint32_t>(slot);  // steps to itself
    node.first = static_cast<std::uint32_t>(out_.groups.size());
    node.count = static_cast<std::uint32_t>(rules.size());
    out_.leaf_entries += rules.size();
    const std::size_t groups = (rules.size() + kLanes<Word> - 1) / kLanes<Word>;
    for (std::size_t g = 0; g < groups; ++g) {
      typename TreeType::Group group;
      for (std::size_t lane = 0; lane < kLanes<Word>; ++lane) {
        typename TreeType::Entry entry;
        if (const std::size_t at = g * kLanes<Word> + lane; at < rules.size()) {
          const BoxType& box = boxes_[rules[at]];
          for (std::size_t d = 0; d < D; ++d) {
            group.dim[d].lo[lane] = box.lo[d];
            group.dim[d].span[lane] = static_cast<Word>(box.hi[d] - box.lo[d]);
          }
          entry.id = box.id;
          entry.sequence = box.rank.sequence;
          group.rank_key[lane] = box.rank.key;
        } else {
          // Padding: the protocol dimension (D - 3) holds 0..255, so [max, max] contains no key.
          for (std::size_t d = 0; d < D; ++d) {
            group.dim[d].lo[lane] = 0;
            group.dim[d].span[lane] = std::numeric_limits<Word>::max();
          }
          group.dim[D - 3].lo[lane] = std::numeric_limits<Word>::max();
          group.dim[D - 3].span[lane] = 0;
        }
        out_.entries.push_back(entry);
      }
      out_.groups.push_back(group);
    }
  }

  const std::vector<BoxType>& boxes_;
  NodeCuts<Word>& cuts_;
  TreeType& out_;
  std::size_t depth_limit_;
  std::size_t budget_;
  std::vector<Word> los_;
  std::vector<Word> his_;
  std::vector<Word> candidates_;
};

template <class Word, std::size_t D>
void set_common_dims(Box<Word, D>& box, const ClassifierRule& rule, std::size_t first) {
  box.lo[first] = rule.protocol == kAnyProtocol ? 0 : rule.protocol;
  box.hi[first] = rule.protocol == kAnyProtocol ? kProtocolMax : rule.protocol;
  const auto ports = [&](std::size_t d, const PortRange& range) {
    box.lo[d] = range.first;
    box.hi[d] = range.is_any() ? kNoPort : range.last;
  };
  ports(first + 1, rule.source_ports);
  ports(first + 2, rule.destination_ports);
}

Box<std::uint32_t, 5> v4_box(const ClassifierRule& rule) {
  Box<std::uint32_t, 5> box;
  const auto prefix = [&](std::size_t d, const Prefix& p) {
    const auto mask = static_cast<std::uint32_t>(high_mask(p.length, kV4Bits));
    box.lo[d] = static_cast<std::uint32_t>(p.address.high) & mask;
    box.hi[d] = box.lo[d] | ~mask;
  };
  prefix(0, rule.source);
  prefix(1, rule.destination);
  set_common_dims(box, rule, 2);
  box.id = rule.id;
  return box;
}

Box<std::uint64_t, 7> v6_box(const ClassifierRule& rule) {
  Box<std::uint64_t, 7> box;
  const auto prefix = [&](std::size_t d, const Prefix& p) {
    const unsigned high_bits = std::min<unsigned>(p.length, kHalfBits);
    const unsigned low_bits = p.length > kHalfBits ? p.length - kHalfBits : 0;
    const auto mh = high_mask(high_bits, kHalfBits);
    const auto ml = high_mask(low_bits, kHalfBits);
    box.lo[d] = p.address.high & mh;
    box.hi[d] = box.lo[d] | ~mh;
    box.lo[d + 1] = p.address.low & ml;
    box.hi[d + 1] = box.lo[d + 1] | ~ml;
  };
  prefix(0, rule.source);
  prefix(2, rule.destination);
  set_common_dims(box, rule, 4);
  box.id = rule.id;
  return box;
}

// A rule and the order it arrived in (the last tie-break).
struct Ranked {
  const ClassifierRule* rule;
  std::uint64_t sequence;
};

Rank rank_of(const Ranked& r) noexcept {
  return {(std::uint64_t{~r.rule->weight} << 32) | r.rule->tie_break, r.sequence};
}

// How deep a tree goes. Every lookup walks a tree's whole depth (a fixed number of branch-free
// steps), so one deep corner of the rule space costs every packet; a depth limit turns the nodes
// there into leaves with more rules, which only the packets that land there scan. The limit is
// chosen per tree from the estimated cost of a lookup on sample packets drawn from its own rules
// (a rule at random, a point at random inside it: ClassBench's traffic model).
constexpr std::size_t kCostSamples = 1024;
constexpr std::uint64_t kCostSeed = 0x5741524443ULL;
// What one leaf group compared costs, in walk steps: a step is one vector compare and a load, a
// group one compare per dimension and a branch that often mispredicts (driver/bench/RESULTS.md).
constexpr double kGroupCostInSteps = 1.5;

template <class Word, std::size_t D>
std::vector<std::array<Word, D>> sample_keys(const std::vector<Box<Word, D>>& boxes) {
  std::mt19937_64 random(kCostSeed);
  std::vector<std::array<Word, D>> keys(kCostSamples);
  for (auto& key : keys) {
    const auto& box = boxes[random() % boxes.size()];
    for (std::size_t d = 0; d < D; ++d) {
      const auto span = static_cast<std::uint64_t>(box.hi[d] - box.lo[d]);
      const std::uint64_t offset = span == ~std::uint64_t{0} ? random() : random() % (span + 1);
      key[d] = static_cast<Word>(box.lo[d] + offset);
    }
  }
  return keys;
}

// Walk steps per lookup, with leaf groups compared counted as kGroupCostInSteps each.
template <class Word, std::size_t D>
double estimated_cost(const Tree<Word, D>& tree, const std::vector<std::array<Word, D>>& keys) {
  std::size_t groups = 0;
  for (const auto& key : keys) {
    const auto* node = tree.nodes.data();
    for (std::size_t s = 0; s < tree.max_depth; ++s) node = tree.template step<Level::Portable>(node, key);
    groups += tree.groups_compared(node, key);
  }
  return static_cast<double>(tree.max_depth) +
         kGroupCostInSteps * static_cast<double>(groups) / static_cast<double>(keys.size());
}

// The tree for `boxes` (in precedence order) at the depth limit with the lowest estimated cost:
// the full depth first, then one level shallower at a time while that lowers the estimate.
template <class TreeType, class BoxType>
std::shared_ptr<const TreeType> build_cheapest(const std::vector<BoxType>& boxes) {
  NodeCuts<typename TreeType::Key::value_type> cuts;
  auto tree = std::make_shared<TreeType>();
  TreeBuilder(boxes, kMaxDepth, cuts, *tree).run();
  if (tree->max_depth <= 1) return tree;
  const auto keys = sample_keys(boxes);
  double cost = estimated_cost(*tree, keys);
  for (std::size_t limit = tree->max_depth - 1; limit >= 1; --limit) {
    auto shallower = std::make_shared<TreeType>();
    TreeBuilder(boxes, limit, cuts, *shallower).run();
    const double shallower_cost = estimated_cost(*shallower, keys);
    if (shallower_cost >= cost) break;
    tree = std::move(shallower);
    cost = shallower_cost;
  }
  return tree;
}

template <class TreeType, class MakeBox>
std::shared_ptr<const TreeType> build_tree(std::vector<Ranked> rules, MakeBox make_box) {
  std::sort(rules.begin(), rules.end(), [](const Ranked& a, const Ranked& b) { return stronger(rank_of(a), rank_of(b)); });
  std::vector<decltype(make_box(*rules.front().rule))> boxes;
  boxes.reserve(rules.size());
  for (const auto& r : rules) {
    boxes.push_back(make_box(*r.rule));
    boxes.back().rank = rank_of(r);
  }
  return build_cheapest<TreeType>(boxes);
}

template <class TreeType, class MakeBox>
std::shared_ptr<const TreeType> build_or_empty(std::vector<Ranked> rules, MakeBox make_box) {
  if (!rules.empty()) return build_tree<TreeType>(std::move(rules), make_box);
  auto tree = std::make_shared<TreeType>();
  tree->nodes.emplace_back();
  return tree;
}

// Which tree a rule goes to: family, then whether source and destination are wide.
std::size_t slot_of(const ClassifierRule& rule) noexcept {
  const unsigned half = rule.source.address.bit_width() / 2;
  const bool wide_source = rule.source.length < half;
  const bool wide_destination = rule.destination.length < half;
  const std::size_t partition = !wide_destination ? 0 : (wide_source ? 2 : 1);
  return (rule.source.address.family == AddressFamily::V4 ? 0 : kPartitions) + partition;
}

// Builds the trees whose slot is marked in `rebuild` from `rules` (all rules, valid).
void build_slots(const std::vector<Ranked>& rules, const std::array<bool, 2 * kPartitions>& rebuild, Forest& forest) {
  std::array<std::vector<Ranked>, 2 * kPartitions> by_slot;
  for (const auto& r : rules) {
    const auto slot = slot_of(*r.rule);
    if (rebuild[slot]) by_slot[slot].push_back(r);
  }
  for (std::size_t p = 0; p < kPartitions; ++p) {
    if (rebuild[p]) forest.v4[p] = build_or_empty<V4Tree>(std::move(by_slot[p]), v4_box);
    if (rebuild[kPartitions + p]) forest.v6[p] = build_or_empty<V6Tree>(std::move(by_slot[kPartitions + p]), v6_box);
  }
}

template <class TreeType>
std::size_t order_trees(const std::array<std::shared_ptr<const TreeType>, kPartitions>& trees,
                        std::array<const TreeType*, kPartitions>& order) {
  std::size_t count = 0;
  for (const auto& t : trees) {
    if (t->rules > 0) order[count++] = t.get();
  }
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count),
            [](const TreeType* a, const TreeType* b) { return stronger(a->best, b->best); });
  return count;
}

// Walks and scans trees [first, trees) in turn for the keys whose match so far (`winner`) the tree
// could still beat; the walks of those keys advance together.
template <Level L, class TreeType>
void classify_in_turn(const std::array<const TreeType*, kPartitions>& order, std::size_t first, std::size_t trees,
                      const typename TreeType::Key* keys, std::size_t count,
                      classifier_detail::Match<typename TreeType::Entry>* winner) noexcept {
  using Node = typename TreeType::Node;
  for (std::size_t t = first; t < trees; ++t) {
    const TreeType& tree = *order[t];
    std::size_t which[kBatch];
    std::size_t n = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (!winner[i].entry || stronger(tree.best, winner[i])) which[n++] = i;
    }
    if (n == 0) break;  // the trees after this one are weaker still
    const Node* at[kBatch];
    for (std::size_t j = 0; j < n; ++j) at[j] = tree.nodes.data();
    for (std::size_t s = 0; s < tree.max_depth; ++s) {
      for (std::size_t j = 0; j < n; ++j) at[j] = tree.template step<L>(at[j], keys[which[j]]);
    }
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = which[j];
      const auto found = tree.template scan<L>(at[j], keys[i]);
      if (found.entry && (!winner[i].entry || stronger(found, winner[i]))) winner[i] = found;
    }
  }
}

// Classifies up to kBatch keys of one family: tree by tree, strongest first rule first. Every key
// walks and scans the first tree; each later tree only for the keys whose match so far it could
// still beat (once a key has a match, the weaker trees rarely can). The walks of a tree's keys
// advance together, one step at a time, so their memory latencies overlap; a leaf yields its first
// match (the leaf's strongest).
template <Level L, class TreeType>
void classify(const std::array<const TreeType*, kPartitions>& order, std::size_t trees,
              const typename TreeType::Key* keys, std::size_t count, const typename TreeType::Entry** best) noexcept {
  using Node = typename TreeType::Node;
  classifier_detail::Match<typename TreeType::Entry> winner[kBatch];
  // Every key walks the first tree, so it is walked here without classify_in_turn's selection of
  // keys (which measured 1-5 % slower for it).
  if (trees > 0) {
    const TreeType& first = *order[0];
    const Node* at[kBatch];
    for (std::size_t j = 0; j < count; ++j) at[j] = first.nodes.data();
    for (std::size_t s = 0; s < first.max_depth; ++s) {
      for (std::size_t j = 0; j < count; ++j) at[j] = first.template step<L>(at[j], keys[j]);
    }
    // Loading the leaves ahead pays here, where every key scans; for the later trees it measured
    // slower (driver/bench/RESULTS.md).
    for (std::size_t j = 0; j < count; ++j) first.prefetch(at[j]);
    for (std::size_t j = 0; j < count; ++j) winner[j] = first.template scan<L>(at[j], keys[j]);
  }
  classify_in_turn<L>(order, 1, trees, keys, count, winner);
  for (std::size_t j = 0; j < count; ++j) best[j] = winner[j].entry;
}

// One entry point per SIMD level and family. The AVX ones are compiled for their target and
// flatten everything they call into themselves, so the whole walk and scan run with those
// instructions; the build's other code stays plain x86-64.
using V4Order = std::array<const V4Tree*, kPartitions>;
using V6Order = std::array<const V6Tree*, kPartitions>;
using V4Kernel = void (*)(const V4Order&, std::size_t, const V4Tree::Key*, std::size_t, const V4Tree::Entry**) noexcept;
using V6Kernel = void (*)(const V6Order&, std::size_t, const V6Tree::Key*, std::size_t, const V6Tree::Entry**) noexcept;


#define WARD_CLASSIFIER_KERNELS(level, attributes)                                                                      \
  attributes void v4_##level(const V4Order& order, std::size_t trees, const V4Tree::Key* keys, std::size_t count,         \
                             const V4Tree::Entry** best) noexcept {                                                     \
    classify<Level::level, V4Tree>(order, trees, keys, count, best);                                                    \
  }                                                                                                                      \
  attributes void v6_##level(const V6Order& order, std::size_t trees, const V6Tree::Key* keys, std::size_t count,         \
                             const V6Tree::Entry** best) noexcept {                                                     \
    classify<Level::level, V6Tree>(order, trees, keys, count, best);                                                    \
  }

WARD_CLASSIFIER_KERNELS(Portable, __attribute__((flatten)))
#if WARD_CLASSIFIER_X86
WARD_CLASSIFIER_KERNELS(Sse2, __attribute__((flatten)))
WARD_CLASSIFIER_KERNELS(Avx2, WARD_TARGET_AVX2 __attribute__((flatten)))
WARD_CLASSIFIER_KERNELS(Avx512, WARD_TARGET_AVX512 __attribute__((flatten)))
#endif
#undef WARD_CLASSIFIER_KERNELS

struct Kernels {
  V4Kernel v4;
  V6Kernel v6;
};

constexpr std::size_t kLevels = 4;
constexpr std::array<Kernels, kLevels> kKernels{{
    {v4_Portable, v6_Portable},
#if WARD_CLASSIFIER_X86
    {v4_Sse2, v6_Sse2},
    {v4_Avx2, v6_Avx2},
    {v4_Avx512, v6_Avx512},
#else
    {v4_Portable, v6_Portable},
    {v4_Portable, v6_Portable},
    {v4_Portable, v6_Portable},
#endif
}};

std::atomic<SimdLevel>& current_level() noexcept {
  static std::atomic<SimdLevel> level{best_simd_level()};
  return level;
}

const Kernels& kernels() noexcept { return kKernels[static_cast<std::size_t>(current_level().load(std::memory_order_relaxed))]; }

V4Tree::Key v4_key(const PacketKey& packet) noexcept;
V6Tree::Key v6_key(const PacketKey& packet) noexcept;

std::uint32_t port_key(bool ports, std::uint16_t port) noexcept { return ports ? port : kNoPort; }

V4Tree::Key v4_key(const PacketKey& packet) noexcept {
  const bool ports = has_ports(packet.protocol);
  return {static_cast<std::uint32_t>(packet.source.high), static_cast<std::uint32_t>(packet.destination.high), packet.protocol,
          port_key(ports, packet.source_port), port_key(ports, packet.destination_port)};
}

V6Tree::Key v6_key(const PacketKey& packet) noexcept {
  const bool ports = has_ports(packet.protocol);
  return {packet.source.high, packet.source.low, packet.destination.high, packet.destination.low,
          packet.protocol,    port_key(ports, packet.source_port), port_key(ports, packet.destination_port)};
}

}  // namespace

SimdLevel best_simd_level() noexcept {
#if WARD_CLASSIFIER_X86
  __builtin_cpu_init();  // may run before libgcc's own initialisation (static initialisers)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) return SimdLevel::Avx512;
  if (__builtin_cpu_supports("avx2")) return SimdLevel::Avx2;
  return SimdLevel::Sse2;
#else
  return SimdLevel::Portable;
#endif
}

bool set_simd_level(SimdLevel level) noexcept {
  if (static_cast<unsigned>(level) > static_cast<unsigned>(best_simd_level())) return false;
  current_level().store(level, std::memory_order_relaxed);
  return true;
}

SimdLevel simd_level() noexcept { return current_level().load(std::memory_order_relaxed); }

const char* to_string(SimdLevel level) noexcept {
  switch (level) {
    case SimdLevel::Portable: return "portable";
    case SimdLevel::Sse2: return "sse2";
    case SimdLevel::Avx2: return "avx2";
    case SimdLevel::Avx512: return "avx512";
  }
  return "unknown";
}

Classifier::Classifier(Token /*unused*/, Forest forest) : forest_(std::move(forest)) {
  v4_count_ = order_trees(forest_.v4, v4_order_);
  v6_count_ = order_trees(forest_.v6, v6_order_);
  const auto add = [this](const auto& tree) {
    stats_.rules += tree->rules;
    stats_.nodes += tree->nodes.size();
    stats_.leaf_entries += tree->leaf_entries;
    stats_.max_depth = std::max(stats_.max_depth, tree->max_depth);
    stats_.memory_bytes += tree->memory_bytes();
  };
  for (const auto& t : forest_.v4) add(t);
  for (const auto& t : forest_.v6) add(t);
}

Expected<ClassifierPtr, RuleError> Classifier::build(std::span<const ClassifierRule> rules) {
  std::vector<Ranked> ranked;
  ranked.reserve(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (auto valid = validate_rule(rules[i]); !valid) {
      RuleError error = std::move(valid).error();
      error.field = "rules[" + std::to_string(i) + "]." + error.field;
      return unexpected(std::move(error));
    }
    ranked.push_back({&rules[i], i});
  }
  Forest forest;
  std::array<bool, 2 * kPartitions> all;
  all.fill(true);
  build_slots(ranked, all, forest);
  return std::make_unique<const Classifier>(Token{}, std::move(forest));
}

std::optional<std::uint32_t> Classifier::lookup(const PacketKey& packet) const noexcept {
  if (packet.source.family != packet.destination.family) return std::nullopt;
  if (packet.source.family == AddressFamily::V4) {
    const V4Tree::Key key = v4_key(packet);
    const V4Tree::Entry* entry = nullptr;
    kernels().v4(v4_order_, v4_count_, &key, 1, &entry);
    return entry ? std::optional<std::uint32_t>(entry->id) : std::nullopt;
  }
  const V6Tree::Key key = v6_key(packet);
  const V6Tree::Entry* entry = nullptr;
  kernels().v6(v6_order_, v6_count_, &key, 1, &entry);
  return entry ? std::optional<std::uint32_t>(entry->id) : std::nullopt;
}

void Classifier::lookup(std::span<const PacketKey> packets, std::span<std::optional<std::uint32_t>> out) const noexcept {
  const std::size_t n = std::min(packets.size(), out.size());
  const Kernels& use = kernels();
  for (std::size_t start = 0; start < n; start += kBatch) {
    const std::size_t end = std::min(n, start + kBatch);
    V4Tree::Key v4_keys[kBatch];
    V6Tree::Key v6_keys[kBatch];
    std::size_t v4_at[kBatch];
    std::size_t v6_at[kBatch];
    std::size_t v4_n = 0;
    std::size_t v6_n = 0;
    for (std::size_t i = start; i < end; ++i) {
      const PacketKey& p = packets[i];
      out[i] = std::nullopt;
      if (p.source.family != p.destination.family) continue;
      if (p.source.family == AddressFamily::V4) {
        v4_at[v4_n] = i;
        v4_keys[v4_n++] = v4_key(p);
      } else {
        v6_at[v6_n] = i;
        v6_keys[v6_n++] = v6_key(p);
      }
    }
    const V4Tree::Entry* v4_found[kBatch];
    const V6Tree::Entry* v6_found[kBatch];
    if (v4_n > 0) use.v4(v4_order_, v4_count_, v4_keys, v4_n, v4_found);
    if (v6_n > 0) use.v6(v6_order_, v6_count_, v6_keys, v6_n, v6_found);
    for (std::size_t i = 0; i < v4_n; ++i) {
      if (v4_found[i]) out[v4_at[i]] = v4_found[i]->id;
    }
    for (std::size_t i = 0; i < v6_n; ++i) {
      if (v6_found[i]) out[v6_at[i]] = v6_found[i]->id;
    }
  }
}

Expected<ClassifierBuilder::RuleHandle, RuleError> ClassifierBuilder::insert(const ClassifierRule& rule) {
  if (auto valid = validate_rule(rule); !valid) return unexpected(std::move(valid).error());
  const RuleHandle handle = next_handle_++;
  rules_.emplace(handle, rule);
  dirty_[slot_of(rule)] = true;
  return handle;
}

bool ClassifierBuilder::remove(RuleHandle handle) {
  const auto it = rules_.find(handle);
  if (it == rules_.end()) return false;
  dirty_[slot_of(it->second)] = true;
  rules_.erase(it);
  return true;
}

void ClassifierBuilder::clear() {
  rules_.clear();
  dirty_.fill(true);
}

ClassifierPtr ClassifierBuilder::build() {
  if (std::find(dirty_.begin(), dirty_.end(), true) != dirty_.end()) {
    std::vector<Ranked> ranked;
    ranked.reserve(rules_.size());
    for (const auto& [handle, rule] : rules_) ranked.push_back({&rule, handle});
    build_slots(ranked, dirty_, forest_);
    dirty_.fill(false);
  }
  return std::make_unique<const Classifier>(Classifier::Token{}, forest_);
}

}  // namespace ward::driver
