#include "driver/classifier/classifier.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

namespace ward::driver {

namespace {

constexpr unsigned kV4Bits = 32;
constexpr unsigned kV6Bits = 128;
constexpr unsigned kHalfBits = 64;
constexpr std::uint32_t kProtocolMax = 255;
// The port value a packet without ports (neither TCP nor UDP) is looked up with: only an "any"
// port range, stored as [0, kNoPort], contains it.
constexpr std::uint32_t kNoPort = 65536;

// A leaf holds at most this many rules unless no split separates them.
constexpr std::size_t kLeafRules = 6;
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

// A decision tree over D dimensions of Word. Nodes sit in one array; an inner node's children are
// adjacent (left at `index`, right at `index + 1`), so a step is one compare and one add.
template <class Word, std::size_t D>
struct Tree {
  using Key = std::array<Word, D>;
  static constexpr std::uint8_t kLeaf = 0xFF;

  struct Node {
    Word split = 0;            // inner: right child when key[dim] >= split
    std::uint32_t index = 0;   // inner: left child; leaf: first entry
    std::uint32_t count = 0;   // leaf: number of entries
    std::uint8_t dim = kLeaf;
  };
  struct Entry {  // a rule as lo and hi - lo per dimension, so "inside" is one unsigned compare
    Key lo{};
    Key span{};
    std::uint32_t id = 0;
  };

  std::vector<Node> nodes;
  std::vector<Entry> entries;
  std::size_t rules = 0;
  std::size_t max_depth = 0;

  const Entry* find(const Key& key) const noexcept {
    const Node* node = nodes.data();
    while (node->dim != kLeaf) {
      node = nodes.data() + node->index + static_cast<std::uint32_t>(key[node->dim] >= node->split);
    }
    const Entry* entry = entries.data() + node->index;
    const Entry* const end = entry + node->count;
    for (; entry != end; ++entry) {
      bool inside = true;
      for (std::size_t d = 0; d < D; ++d) inside &= static_cast<Word>(key[d] - entry->lo[d]) <= entry->span[d];
      if (inside) return entry;
    }
    return nullptr;
  }

  std::size_t memory_bytes() const noexcept {
    return nodes.capacity() * sizeof(Node) + entries.capacity() * sizeof(Entry);
  }
};

struct V4Tree : Tree<std::uint32_t, 5> {};
struct V6Tree : Tree<std::uint64_t, 7> {};

}  // namespace classifier_detail

namespace {

using classifier_detail::Tree;
using classifier_detail::V4Tree;
using classifier_detail::V6Tree;

template <class Word, std::size_t D>
struct Box {
  std::array<Word, D> lo{};
  std::array<Word, D> hi{};
  std::uint32_t id = 0;
};

template <class Word, std::size_t D>
class TreeBuilder {
 public:
  using TreeType = Tree<Word, D>;
  using BoxType = Box<Word, D>;

  // `boxes` in precedence order: the first box containing a point is the winner.
  TreeBuilder(std::vector<BoxType> boxes, TreeType& out)
      : boxes_(std::move(boxes)),
        out_(out),
        budget_(std::max(kLeafEntryBudgetMinimum, kLeafEntryBudgetPerRule * boxes_.size())) {}

  void run() {
    out_.rules = boxes_.size();
    out_.nodes.emplace_back();
    BoxType region;
    region.hi.fill(std::numeric_limits<Word>::max());
    // The last three dimensions are protocol, source port and destination port, in every tree.
    region.hi[D - 3] = kProtocolMax;
    region.hi[D - 2] = kNoPort;
    region.hi[D - 1] = kNoPort;
    std::vector<std::uint32_t> all(boxes_.size());
    std::iota(all.begin(), all.end(), 0U);
    build(0, std::move(all), region, 0);
    out_.nodes.shrink_to_fit();
    out_.entries.shrink_to_fit();
  }

 private:
  struct Split {
    std::size_t larger = 0;  // rules in the larger child
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

  void build(std::size_t slot, std::vector<std::uint32_t> rules, const BoxType& region, std::size_t depth) {
    // Everything after the first rule that covers the whole region can never win inside it.
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (covers(boxes_[rules[i]], region)) {
        rules.resize(i + 1);
        break;
      }
    }
    out_.max_depth = std::max(out_.max_depth, depth);
    if (rules.size() <= kLeafRules || depth >= kMaxDepth || out_.entries.size() >= budget_) {
      make_leaf(slot, rules);
      return;
    }
    const Split split = choose_split(rules, region);
    if (split.dim == D) {
      make_leaf(slot, rules);
      return;
    }
    std::vector<std::uint32_t> left;
    std::vector<std::uint32_t> right;
    left.reserve(split.larger);
    right.reserve(split.larger);
    for (const auto r : rules) {
      if (boxes_[r].lo[split.dim] < split.value) left.push_back(r);
      if (boxes_[r].hi[split.dim] >= split.value) right.push_back(r);
    }
    rules = {};
    const auto child = static_cast<std::uint32_t>(out_.nodes.size());
    out_.nodes.resize(out_.nodes.size() + 2);
    auto& node = out_.nodes[slot];
    node.split = split.value;
    node.index = child;
    node.dim = static_cast<std::uint8_t>(split.dim);
    BoxType left_region = region;
    left_region.hi[split.dim] = static_cast<Word>(split.value - 1);
    BoxType right_region = region;
    right_region.lo[split.dim] = split.value;
    build(child, std::move(left), left_region, depth + 1);
    build(child + 1, std::move(right), right_region, depth + 1);
  }

  // The split value, over all dimensions, that makes the larger child smallest; among equals, the
  // one that copies fewest rules. A split is taken only if it makes some child smaller.
  Split choose_split(const std::vector<std::uint32_t>& rules, const BoxType& region) {
    const std::size_t n = rules.size();
    Split best{n, 2 * n, D, 0};
    for (std::size_t d = 0; d < D; ++d) {
      if (region.lo[d] == region.hi[d]) continue;
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
        if (larger < best.larger || (larger == best.larger && total < best.total)) best = {larger, total, d, value};
      }
    }
    return best;
  }

  void make_leaf(std::size_t slot, const std::vector<std::uint32_t>& rules) {
    auto& node = out_.nodes[slot];
    node.dim = TreeType::kLeaf;
    node.index = static_cast<std::uint32_t>(out_.entries.size());
    node.count = static_cast<std::uint32_t>(rules.size());
    for (const auto r : rules) {
      typename TreeType::Entry entry;
      entry.lo = boxes_[r].lo;
      for (std::size_t d = 0; d < D; ++d) entry.span[d] = static_cast<Word>(boxes_[r].hi[d] - boxes_[r].lo[d]);
      entry.id = boxes_[r].id;
      out_.entries.push_back(entry);
    }
  }

  std::vector<BoxType> boxes_;
  TreeType& out_;
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

// `rules` are valid and in input order; the result's boxes are in precedence order.
template <class TreeType, class MakeBox>
std::shared_ptr<const TreeType> build_tree(std::vector<const ClassifierRule*> rules, MakeBox make_box) {
  std::stable_sort(rules.begin(), rules.end(),
                   [](const ClassifierRule* a, const ClassifierRule* b) { return rule_precedes(*a, *b); });
  std::vector<decltype(make_box(*rules.front()))> boxes;
  boxes.reserve(rules.size());
  for (const auto* rule : rules) boxes.push_back(make_box(*rule));
  auto tree = std::make_shared<TreeType>();
  TreeBuilder(std::move(boxes), *tree).run();
  return tree;
}

std::shared_ptr<const V4Tree> build_v4(std::vector<const ClassifierRule*> rules) {
  if (rules.empty()) {
    auto tree = std::make_shared<V4Tree>();
    tree->nodes.emplace_back();
    return tree;
  }
  return build_tree<V4Tree>(std::move(rules), v4_box);
}

std::shared_ptr<const V6Tree> build_v6(std::vector<const ClassifierRule*> rules) {
  if (rules.empty()) {
    auto tree = std::make_shared<V6Tree>();
    tree->nodes.emplace_back();
    return tree;
  }
  return build_tree<V6Tree>(std::move(rules), v6_box);
}

std::uint32_t port_key(bool ports, std::uint16_t port) noexcept { return ports ? port : kNoPort; }

}  // namespace

Classifier::Classifier(Token /*unused*/, std::shared_ptr<const V4Tree> v4, std::shared_ptr<const V6Tree> v6)
    : v4_(std::move(v4)), v6_(std::move(v6)) {
  stats_.rules = v4_->rules + v6_->rules;
  stats_.nodes = v4_->nodes.size() + v6_->nodes.size();
  stats_.leaf_entries = v4_->entries.size() + v6_->entries.size();
  stats_.max_depth = std::max(v4_->max_depth, v6_->max_depth);
  stats_.memory_bytes = v4_->memory_bytes() + v6_->memory_bytes();
}

Expected<ClassifierPtr, RuleError> Classifier::build(std::span<const ClassifierRule> rules) {
  std::vector<const ClassifierRule*> v4;
  std::vector<const ClassifierRule*> v6;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (auto valid = validate_rule(rules[i]); !valid) {
      RuleError error = std::move(valid).error();
      error.field = "rules[" + std::to_string(i) + "]." + error.field;
      return unexpected(std::move(error));
    }
    (rules[i].source.address.family == AddressFamily::V4 ? v4 : v6).push_back(&rules[i]);
  }
  return std::make_unique<const Classifier>(Token{}, build_v4(std::move(v4)), build_v6(std::move(v6)));
}

std::optional<std::uint32_t> Classifier::lookup(const PacketKey& packet) const noexcept {
  if (packet.source.family != packet.destination.family) return std::nullopt;
  const bool ports = has_ports(packet.protocol);
  if (packet.source.family == AddressFamily::V4) {
    const V4Tree::Key key{static_cast<std::uint32_t>(packet.source.high), static_cast<std::uint32_t>(packet.destination.high),
                          packet.protocol, port_key(ports, packet.source_port), port_key(ports, packet.destination_port)};
    if (const auto* entry = v4_->find(key)) return entry->id;
    return std::nullopt;
  }
  const V6Tree::Key key{packet.source.high, packet.source.low, packet.destination.high, packet.destination.low,
                        packet.protocol,    port_key(ports, packet.source_port), port_key(ports, packet.destination_port)};
  if (const auto* entry = v6_->find(key)) return entry->id;
  return std::nullopt;
}

Expected<ClassifierBuilder::RuleHandle, RuleError> ClassifierBuilder::insert(const ClassifierRule& rule) {
  if (auto valid = validate_rule(rule); !valid) return unexpected(std::move(valid).error());
  const RuleHandle handle = next_handle_++;
  rules_.emplace(handle, rule);
  (rule.source.address.family == AddressFamily::V4 ? v4_dirty_ : v6_dirty_) = true;
  return handle;
}

bool ClassifierBuilder::remove(RuleHandle handle) {
  const auto it = rules_.find(handle);
  if (it == rules_.end()) return false;
  (it->second.source.address.family == AddressFamily::V4 ? v4_dirty_ : v6_dirty_) = true;
  rules_.erase(it);
  return true;
}

void ClassifierBuilder::clear() {
  rules_.clear();
  v4_dirty_ = v6_dirty_ = true;
}

ClassifierPtr ClassifierBuilder::build() {
  if (v4_dirty_ || v6_dirty_) {
    std::vector<const ClassifierRule*> v4;
    std::vector<const ClassifierRule*> v6;
    for (const auto& [handle, rule] : rules_) {
      (rule.source.address.family == AddressFamily::V4 ? v4 : v6).push_back(&rule);
    }
    if (v4_dirty_ || !v4_) v4_ = build_v4(std::move(v4));
    if (v6_dirty_ || !v6_) v6_ = build_v6(std::move(v6));
    v4_dirty_ = v6_dirty_ = false;
  }
  return std::make_unique<const Classifier>(Classifier::Token{}, v4_, v6_);
}

}  // namespace ward::driver
