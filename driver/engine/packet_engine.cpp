#include "driver/engine/packet_engine.h"

#include <algorithm>
#include <array>
#include <deque>
#include <type_traits>
#include <variant>

#include "common/byte_reader.h"
#include "driver/classifier/classifier.h"
#include "driver/crypto/ah.h"
#include "driver/crypto/esp.h"
#include "driver/engine/filter_match.h"
#include "driver/packet/packet_summary.h"

namespace ward::driver {

namespace {

// No IKE peer answers for a group, broadcast or unspecified address, so traffic to one that a
// negotiate filter covers is dropped (fail closed) instead of held for a main mode that cannot
// succeed: with an "any" IPv6 filter, every MLD report to ff02::16 started one.
bool can_negotiate_with(const IpAddress& peer) noexcept {
  if (peer.family() == IpFamily::V4) {
    const std::uint32_t address = peer.v4_host_order();
    return (address >> 28) != 0xE && address != 0xFFFFFFFFU && address != 0;  // 224.0.0.0/4, broadcast
  }
  const auto& bytes = peer.bytes();
  return bytes[0] != 0xFF && bytes != std::array<std::uint8_t, 16>{};  // ff00::/8, ::
}

constexpr std::uint16_t kNatTraversalPort = 4500;
constexpr std::size_t kUdpHeaderLength = 8;

Address classifier_address(const IpAddress& address) {
  const auto& b = address.bytes();
  if (address.family() == IpFamily::V4) return Address::v4(address.v4_host_order());
  std::uint64_t high = 0, low = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    high = (high << 8) | b[i];
    low = (low << 8) | b[i + 8];
  }
  return Address::v6(high, low);
}

Prefix classifier_prefix(const IpPrefix& prefix) {
  return {classifier_address(prefix.address()), static_cast<std::uint8_t>(prefix.length())};
}

// The table's precedence order becomes the classifier's order: rank r gets weight (max - r), so the
// classifier's winner is exactly the first filter in the table that matches.
ClassifierPtr build_classifier(const FilterTable& table) {
  std::vector<ClassifierRule> rules;
  rules.reserve(table.filters.size());
  for (std::size_t i = 0; i < table.filters.size(); ++i) {
    const auto& f = table.filters[i];
    if (f.source.family() != f.destination.family()) continue;  // can never match a packet
    rules.push_back({classifier_prefix(f.source), classifier_prefix(f.destination), f.protocol,
                     driver::PortRange{f.source_ports.first, f.source_ports.last},
                     driver::PortRange{f.destination_ports.first, f.destination_ports.last},
                     static_cast<std::uint32_t>(UINT32_MAX - i), static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)});
  }
  auto built = Classifier::build(rules);
  return built ? std::move(*built) : nullptr;
}

// Windows tunnel rules come in pairs of unmirrored filters (ours -> theirs through their endpoint,
// theirs -> ours through ours), and quick mode negotiates the SA pair for the outbound one. What an
// inbound tunnel SA delivers may therefore match the inbound rule's filter, provided it is exactly
// the reply direction of the SA's own filter.
bool reverse_of_filter_matches(const FilterTable& table, std::uint32_t filter_id, const PacketSummary& inner) {
  PacketSummary reversed = inner;
  std::swap(reversed.source, reversed.destination);
  std::swap(reversed.source_port, reversed.destination_port);
  for (const auto& f : table.filters) {
    if (f.id == filter_id && f.action == FilterAction::Negotiate && f.tunnel_endpoint && filter_matches(f, reversed)) return true;
  }
  return false;
}

}  // namespace

struct PacketEngineTable {
  explicit PacketEngineTable(FilterTable t)
      : table(std::move(t)),
        classifier(build_classifier(table)),
        packets(new std::atomic<std::uint64_t>[table.filters.size()]()),
        bytes(new std::atomic<std::uint64_t>[table.filters.size()]()) {}

  // The first filter in precedence order that matches (the model's first_match() semantics), found
  // by the classifier. Later fragments carry no ports, which the classifier's key cannot say, and
  // a table the classifier refused falls back to the scan too.
  const DriverFilter* match(const PacketSummary& packet, std::size_t* index_out) const {
    if (classifier && !packet.later_fragment) {
      const auto hit = classifier->lookup(key_of(packet));
      if (!hit) return nullptr;
      if (index_out) *index_out = *hit;
      return &table.filters[*hit];
    }
    for (std::size_t i = 0; i < table.filters.size(); ++i) {
      if (filter_matches(table.filters[i], packet)) {
        if (index_out) *index_out = i;
        return &table.filters[i];
      }
    }
    return nullptr;
  }
  static PacketKey key_of(const PacketSummary& packet) {
    return {classifier_address(packet.source), classifier_address(packet.destination), packet.protocol, packet.source_port.value_or(0),
            packet.destination_port.value_or(0)};
  }
  void count(std::size_t index, std::size_t length) const {
    packets[index].fetch_add(1, std::memory_order_relaxed);
    bytes[index].fetch_add(length, std::memory_order_relaxed);
  }

  FilterTable table;
  ClassifierPtr classifier;
  std::unique_ptr<std::atomic<std::uint64_t>[]> packets;
  std::unique_ptr<std::atomic<std::uint64_t>[]> bytes;
};

struct PacketEngine::SaEntry {
  SaEntry(std::variant<crypto::EspSa, crypto::AhSa> s, std::optional<crypto::AhSa> ah, const SaInstall& install,
          std::chrono::steady_clock::time_point now)
      : sa(std::move(s)),
        bundled_ah(std::move(ah)),
        bundled_ah_spi(install.bundled_ah ? install.bundled_ah->spi : 0),
        spi(install.params.spi),
        direction(install.params.direction),
        protocol(install.params.protocol),
        filter_id(install.filter_id),
        flow_filter_id(install.filter_id),
        peer(install.peer),
        lifetime(install.lifetime),
        added(now) {}

  std::mutex mutex;  // guards `sa` and `bundled_ah`: sequence numbers, replay windows, cipher contexts
  std::variant<crypto::EspSa, crypto::AhSa> sa;
  std::optional<crypto::AhSa> bundled_ah;   // AH+ESP: the AH SA applied around this ESP SA
  std::uint32_t bundled_ah_spi;
  std::vector<std::byte> scratch;           // AH+ESP: the ESP packet between the two transforms
  std::uint32_t spi;
  crypto::Direction direction;
  crypto::SecurityProtocol protocol;
  std::uint32_t filter_id;
  std::uint32_t flow_filter_id;     // the filter whose flows it protects: filter_id, or its dynamic filter's id
  DynamicFilters::EntryPtr dynamic;  // a default response SA's dynamic filter
  IpAddress peer;
  SaLifetime lifetime;
  std::chrono::steady_clock::time_point added;
  std::atomic<std::uint64_t> packets{0}, bytes{0}, drops{0};
  std::atomic<bool> soft_notified{false}, hard_expired{false}, removed{false};
};

struct PacketEngine::Flow {
  struct Held {
    std::uint64_t token;
    std::vector<std::byte> packet;
  };
  std::deque<Held> packets;
  std::chrono::steady_clock::time_point since;
  std::optional<std::chrono::steady_clock::time_point> asked;   // the last acquire for it
};

PacketEngine::PacketEngine(DataplaneListener& listener, EngineOptions options, Clock clock)
    : listener_(listener), options_(options), clock_(std::move(clock)), spis_(options.spi_allocation, clock_) {
  table_.store(std::make_shared<const Table>(FilterTable{}));
}

PacketEngine::~PacketEngine() = default;

std::shared_ptr<const PacketEngine::Table> PacketEngine::table() const { return table_.load(std::memory_order_acquire); }

PacketEngine::PreparedTable PacketEngine::prepare_table(FilterTable table) const {
  return PreparedTable(std::make_shared<const Table>(std::move(table)));
}

void PacketEngine::install_prepared(PreparedTable prepared) {
  auto next = std::move(prepared.table_);
  if (!next) return;
  // A soft association outlives a new table only while its filter still negotiates.
  soft_.retain([&](std::uint32_t id) {
    return std::any_of(next->table.filters.begin(), next->table.filters.end(),
                       [&](const DriverFilter& f) { return f.id == id && f.action == FilterAction::Negotiate; });
  });
  table_.store(std::move(next), std::memory_order_release);
}

void PacketEngine::count_drop(crypto::DropReason reason) {
  drops_by_reason_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<PacketEngine::SaEntry> PacketEngine::outbound_sa(const FlowKey& key) const {
  std::shared_lock lock(sas_mutex_);
  const auto it = outbound_sas_.find(key);
  if (it == outbound_sas_.end() || it->second->hard_expired) return nullptr;
  return it->second;
}

namespace {

// An AH+ESP bundle: ESP inside, AH outside, one direction, transport mode (SaInstall::bundled_ah).
Expected<void, std::string> check_bundle(const crypto::SaParams& esp, const crypto::SaParams& ah) {
  const auto refuse = [&](const std::string& why) {
    return unexpected("AH+ESP bundle of " + crypto::describe_sa(esp) + " and " + crypto::describe_sa(ah) + ": " + why);
  };
  if (esp.protocol != crypto::SecurityProtocol::Esp || ah.protocol != crypto::SecurityProtocol::Ah) {
    return refuse("the SA must be ESP and the bundled one AH");
  }
  if (esp.direction != ah.direction) return refuse("the two SAs are of different directions");
  if (esp.mode != crypto::Mode::Transport || ah.mode != crypto::Mode::Transport) return refuse("bundles are transport mode only");
  if (esp.udp_encapsulation) return refuse("AH cannot be UDP-encapsulated (it does not cross a NAT)");
  return {};
}

Expected<std::variant<crypto::EspSa, crypto::AhSa>, std::string> make_transform(const crypto::SaParams& params) {
  using Transform = std::variant<crypto::EspSa, crypto::AhSa>;
  if (params.protocol == crypto::SecurityProtocol::Esp) {
    auto esp = crypto::EspSa::create(params);
    if (!esp) return unexpected(esp.error());
    return Transform(std::in_place_index<0>, std::move(*esp));
  }
  auto ah = crypto::AhSa::create(params);
  if (!ah) return unexpected(ah.error());
  return Transform(std::in_place_index<1>, std::move(*ah));
}

}  // namespace

Expected<std::vector<ReleasedPacket>, std::string> PacketEngine::add_sa(SaInstall install) {
  auto transform = make_transform(install.params);
  if (!transform) return unexpected(transform.error());
  std::optional<crypto::AhSa> bundled_ah;
  if (install.bundled_ah) {
    if (auto checked = check_bundle(install.params, *install.bundled_ah); !checked) return unexpected(checked.error());
    auto ah = crypto::AhSa::create(*install.bundled_ah);
    if (!ah) return unexpected(ah.error());
    bundled_ah.emplace(std::move(*ah));
  }
  auto entry = std::make_shared<SaEntry>(std::move(*transform), std::move(bundled_ah), install, clock_());
  FlowKey key{install.filter_id, install.peer};
  const bool inbound = install.params.direction == crypto::Direction::Inbound;
  {
    std::unique_lock lock(sas_mutex_);
    if (inbound) {
      // An inbound SPI names one SA on this host: a packet carries nothing else to tell two apart.
      if (const auto used = inbound_sas_.find(install.params.spi);
          used != inbound_sas_.end() && !used->second->hard_expired && !(used->second->peer == install.peer)) {
        return unexpected("inbound SPI " + std::to_string(install.params.spi) + " is already the SA from " + used->second->peer.to_string() +
                          "'s; refused for " + install.peer.to_string() + " (inbound SPIs must be unique on this host)");
      }
      for (const auto spi : {install.params.spi, install.bundled_ah ? install.bundled_ah->spi : 0U}) {
        const auto* reserved = spi != 0 ? spis_.reserved(spi) : nullptr;
        if (reserved != nullptr && !(reserved->peer == install.peer)) {
          return unexpected("inbound SPI " + std::to_string(spi) + " is reserved for a negotiation with " + reserved->peer.to_string() +
                            "; refused for " + install.peer.to_string() + " (inbound SPIs must be unique on this host)");
        }
      }
      spis_.installed(install.params.spi);
      if (install.bundled_ah) spis_.installed(install.bundled_ah->spi);
    }
    if (install.dynamic) {
      entry->dynamic = dynamic_.acquire(*install.dynamic, install.filter_id);
      entry->flow_filter_id = entry->dynamic->id;
      key.first = entry->dynamic->id;
    }
    if (inbound) {
      if (const auto replaced = inbound_sas_.find(install.params.spi); replaced != inbound_sas_.end()) remove_sa_entry(*replaced->second);
      inbound_sas_[install.params.spi] = entry;
      if (entry->bundled_ah) inbound_bundle_ah_[entry->bundled_ah_spi] = entry;
      return std::vector<ReleasedPacket>{};
    }
    const std::pair spi_and_peer{install.params.spi, install.peer};
    if (const auto replaced = outbound_by_spi_.find(spi_and_peer); replaced != outbound_by_spi_.end()) remove_sa_entry(*replaced->second);
    outbound_by_spi_[spi_and_peer] = entry;
    outbound_sas_[key] = entry;
  }
  soft_.erase(key);  // an SA for the pair ends its soft association
  std::deque<Flow::Held> waiting;
  {
    std::lock_guard lock(held_mutex_);
    if (const auto it = held_.find(key); it != held_.end()) {
      waiting = std::move(it->second.packets);
      held_total_ -= waiting.size();
      held_.erase(it);
    }
  }
  std::vector<ReleasedPacket> released;
  for (auto& held : waiting) {
    auto outcome = protect(*entry, held.packet);
    released.push_back({held.token, outcome.disposition, std::move(outcome.bytes)});
  }
  return released;
}

Expected<std::uint32_t, std::string> PacketEngine::allocate_spi(crypto::SecurityProtocol protocol, const IpAddress& peer) {
  std::unique_lock lock(sas_mutex_);
  // One SPI space for ESP and AH: inbound_sas_ is keyed by SPI alone, and a bundle's AH SPI must
  // not shadow an AH SA's.
  return spis_.allocate(protocol, peer, [this](std::uint32_t spi) { return inbound_sas_.contains(spi) || inbound_bundle_ah_.contains(spi); });
}

Expected<void, std::string> PacketEngine::release_spi(std::uint32_t spi, crypto::SecurityProtocol protocol) {
  std::unique_lock lock(sas_mutex_);
  return spis_.release(spi, protocol);
}

void PacketEngine::forget_bundled_ah(const SaEntry& entry) {
  const auto it = inbound_bundle_ah_.find(entry.bundled_ah_spi);
  if (it != inbound_bundle_ah_.end() && it->second.get() == &entry) inbound_bundle_ah_.erase(it);
}

void PacketEngine::remove_sa_entry(SaEntry& entry) {
  if (entry.direction == crypto::Direction::Outbound) {
    const FlowKey key{entry.flow_filter_id, entry.peer};
    if (const auto flow = outbound_sas_.find(key); flow != outbound_sas_.end() && flow->second.get() == &entry) outbound_sas_.erase(flow);
  } else if (entry.bundled_ah) {
    forget_bundled_ah(entry);  // its AH SPI goes too
  }
  // The pointer stays (the packet path may still read it); the filter loses this SA once.
  if (entry.dynamic && !entry.removed.exchange(true)) dynamic_.release(entry.dynamic);
}

Expected<void, std::string> PacketEngine::delete_sa(std::uint32_t spi, crypto::Direction direction, const IpAddress* peer) {
  std::unique_lock lock(sas_mutex_);
  const auto none = [&] {
    return unexpected("no " + std::string(crypto::name_of(direction)) + " SA with SPI " + std::to_string(spi) +
                      (peer != nullptr ? (direction == crypto::Direction::Inbound ? " from " : " to ") + peer->to_string() : std::string()));
  };
  if (direction == crypto::Direction::Inbound) {
    const auto it = inbound_sas_.find(spi);
    if (it == inbound_sas_.end() || (peer != nullptr && !(it->second->peer == *peer))) return none();
    remove_sa_entry(*it->second);
    inbound_sas_.erase(it);
    return {};
  }
  std::vector<decltype(outbound_by_spi_)::iterator> matches;
  for (auto it = outbound_by_spi_.begin(); it != outbound_by_spi_.end(); ++it) {
    if (it->first.first == spi && (peer == nullptr || it->first.second == *peer)) matches.push_back(it);
  }
  if (matches.empty()) return none();
  if (matches.size() > 1) {
    std::string peers;
    for (const auto& it : matches) peers += (peers.empty() ? "" : ", ") + it->first.second.to_string();
    return unexpected("outbound SPI " + std::to_string(spi) + " is the SPI of SAs to " + peers + ": name the peer");
  }
  remove_sa_entry(*matches[0]->second);
  outbound_by_spi_.erase(matches[0]);
  return {};
}

Expected<std::vector<ReleasedPacket>, std::string> PacketEngine::add_soft_association(const SoftAssociation& association) {
  const auto snapshot = table();
  const bool negotiates = std::any_of(snapshot->table.filters.begin(), snapshot->table.filters.end(), [&](const DriverFilter& f) {
    return f.id == association.filter_id && f.action == FilterAction::Negotiate;
  });
  if (!negotiates) {
    return unexpected("soft association with " + association.peer.to_string() + ": filter " + std::to_string(association.filter_id) +
                      " is not a negotiate filter of the table");
  }
  if (association.idle_lifetime.count() <= 0) {
    return unexpected("soft association with " + association.peer.to_string() + ": the idle lifetime must be positive");
  }
  soft_.add(association, clock_());
  std::deque<Flow::Held> waiting;
  {
    std::lock_guard lock(held_mutex_);
    if (const auto it = held_.find({association.filter_id, association.peer}); it != held_.end()) {
      waiting = std::move(it->second.packets);
      held_total_ -= waiting.size();
      held_.erase(it);
    }
  }
  std::vector<ReleasedPacket> released;
  const auto now = clock_();
  for (auto& held : waiting) {
    (void)soft_.pass({association.filter_id, association.peer}, held.packet.size(), now);
    released.push_back({held.token, Disposition::Accept, std::move(held.packet)});
  }
  return released;
}

Expected<void, std::string> PacketEngine::delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) {
  if (!soft_.erase({filter_id, peer})) {
    return unexpected("no soft association for filter " + std::to_string(filter_id) + " with " + peer.to_string());
  }
  return {};
}

PacketOutcome PacketEngine::protect(SaEntry& entry, std::span<const std::byte> packet) {
  PacketOutcome outcome;
  protect_into(entry, packet, outcome);
  return outcome;
}

void PacketEngine::protect_into(SaEntry& entry, std::span<const std::byte> packet, PacketOutcome& outcome) {
  Expected<void, crypto::DropReason> result = unexpected(crypto::DropReason::CryptoFailure);
  {
    std::lock_guard lock(entry.mutex);
    if (entry.bundled_ah) {
      // AH+ESP: ESP first, then AH around the ESP packet (RFC 4301 4.3 transport adjacency).
      result = std::get<crypto::EspSa>(entry.sa).encapsulate(packet, entry.scratch);
      if (result) result = entry.bundled_ah->encapsulate(entry.scratch, outcome.bytes);
    } else {
      result = std::visit([&](auto& sa) { return sa.encapsulate(packet, outcome.bytes); }, entry.sa);
    }
  }
  if (!result) {
    count_drop(result.error());
    entry.drops.fetch_add(1, std::memory_order_relaxed);
    outcome.disposition = Disposition::Drop;
    outcome.bytes.clear();
    return;
  }
  count_traffic(entry, packet.size());
  outcome.disposition = Disposition::AcceptModified;
}

void PacketEngine::count_traffic(SaEntry& entry, std::size_t bytes) {
  entry.packets.fetch_add(1, std::memory_order_relaxed);
  const auto total = entry.bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  const auto& life = entry.lifetime;
  const bool soft_due = life.soft_bytes > 0 && total >= life.soft_bytes && !entry.soft_notified.load(std::memory_order_relaxed);
  const bool hard_due = life.hard_bytes > 0 && total >= life.hard_bytes && !entry.hard_expired.load(std::memory_order_relaxed);
  if (soft_due || hard_due) expiry_due_.store(true, std::memory_order_relaxed);
}

PacketOutcome PacketEngine::hold(const FlowKey& key, const std::optional<Acquire>& acquire, std::span<const std::byte> packet,
                                 std::uint64_t token) {
  bool ask = false;
  bool dropped = false;
  {
    const auto now = clock_();
    std::lock_guard lock(held_mutex_);
    auto& flow = held_[key];
    if (!flow.asked) flow.since = now;
    if (!flow.asked || now - *flow.asked >= options_.reacquire_interval) {
      ask = true;
      flow.asked = now;
    }
    if (flow.packets.size() >= options_.max_held_per_flow || held_total_ >= options_.max_held_total) {
      dropped = true;
    } else {
      flow.packets.push_back({token, std::vector<std::byte>(packet.begin(), packet.end())});
      ++held_total_;
    }
  }
  if (ask && acquire) {
    acquires_.fetch_add(1, std::memory_order_relaxed);
    listener_.on_acquire(*acquire);
  }
  if (dropped) {
    hold_dropped_.fetch_add(1, std::memory_order_relaxed);
    return {Disposition::Drop, {}};
  }
  held_count_.fetch_add(1, std::memory_order_relaxed);
  return {Disposition::Held, {}};
}

PacketOutcome PacketEngine::outbound(std::span<const std::byte> packet, std::uint64_t hold_token) {
  PacketOutcome out;
  const auto summary = summarize_ip_packet(packet);
  if (!summary) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return {Disposition::Drop, {}};
  }
  const auto snapshot = table();
  std::size_t index = 0;
  const DriverFilter* filter = snapshot->match(*summary, &index);
  outbound_matched(*summary, packet, hold_token, *snapshot, filter, index, out);
  return out;
}

void PacketEngine::outbound_burst(std::span<const std::span<const std::byte>> packets, std::span<const std::uint64_t> hold_tokens,
                                  std::span<PacketOutcome> out) {
  constexpr std::size_t kBurst = 32;
  const auto snapshot = table();
  std::array<std::optional<PacketSummary>, kBurst> summaries;
  std::array<PacketKey, kBurst> keys;
  std::array<std::size_t, kBurst> keyed;  // packet slot of keys[k]
  std::array<std::optional<std::uint32_t>, kBurst> hits;
  const std::size_t count = std::min({packets.size(), hold_tokens.size(), out.size()});
  for (std::size_t first = 0; first < count; first += kBurst) {
    const std::size_t n = std::min(kBurst, count - first);
    std::size_t key_count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      summaries[i].reset();
      auto summary = summarize_ip_packet(packets[first + i]);
      if (!summary) continue;
      summaries[i] = *summary;
      if (snapshot->classifier && !summary->later_fragment) {
        keys[key_count] = snapshot->key_of(*summary);
        keyed[key_count++] = i;
      }
    }
    if (key_count > 0) snapshot->classifier->lookup(std::span<const PacketKey>(keys.data(), key_count), std::span(hits.data(), key_count));
    std::size_t next_key = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto& result = out[first + i];
      result.bytes.clear();
      if (!summaries[i]) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        result.disposition = Disposition::Drop;
        continue;
      }
      std::size_t index = 0;
      const DriverFilter* filter = nullptr;
      if (next_key < key_count && keyed[next_key] == i) {
        if (const auto hit = hits[next_key]; hit) {
          index = *hit;
          filter = &snapshot->table.filters[index];
        }
        ++next_key;
      } else {
        filter = snapshot->match(*summaries[i], &index);
      }
      outbound_matched(*summaries[i], packets[first + i], hold_tokens[first + i], *snapshot, filter, index, result);
    }
  }
}

void PacketEngine::outbound_matched(const PacketSummary& summary, std::span<const std::byte> packet, std::uint64_t hold_token,
                                    const Table& snapshot, const DriverFilter* filter, std::size_t index, PacketOutcome& out) {
  out.bytes.clear();
  if (!filter) {
    out = outbound_dynamic(summary, packet, hold_token);
    return;
  }
  snapshot.count(index, packet.size());
  switch (filter->action) {
    case FilterAction::Permit: out.disposition = Disposition::Accept; return;
    case FilterAction::Block:
      blocked_.fetch_add(1, std::memory_order_relaxed);
      out.disposition = Disposition::Drop;
      return;
    case FilterAction::Negotiate: break;
  }
  const IpAddress peer = filter->tunnel_endpoint.value_or(summary.destination);
  if (!can_negotiate_with(peer)) {
    unsecured_dropped_.fetch_add(1, std::memory_order_relaxed);
    out.disposition = Disposition::Drop;
    return;
  }
  const FlowKey key{filter->id, peer};
  if (auto entry = outbound_sa(key)) {
    protect_into(*entry, packet, out);
    return;
  }
  if (soft_.pass(key, packet.size(), clock_())) {
    out.disposition = Disposition::Accept;
    return;
  }
  const Acquire acquire{filter->id, peer, summary.source, summary.destination, summary.protocol,
                        summary.source_port.value_or(0), summary.destination_port.value_or(0)};
  out = hold(key, acquire, packet, hold_token);
}

PacketOutcome PacketEngine::outbound_dynamic(const PacketSummary& summary, std::span<const std::byte> packet, std::uint64_t hold_token) {
  if (dynamic_.empty()) return {Disposition::Accept, {}};
  const auto dynamic = dynamic_.match_outbound(summary, packet.size());
  if (!dynamic) return {Disposition::Accept, {}};
  const FlowKey key{dynamic->id, dynamic->selector.remote};
  if (auto entry = outbound_sa(key)) return protect(*entry, packet);
  // Between the responder's quick mode 2 (inbound SA) and 3 (outbound SA), or while the initiator
  // rekeys: the packet waits for the SA the peer's quick mode installs; nobody is asked for one.
  return hold(key, std::nullopt, packet, hold_token);
}

void PacketEngine::open_ipsec(std::uint32_t spi, crypto::SecurityProtocol protocol, std::span<const std::byte> packet, PacketOutcome& outcome,
                              crypto::InnerChecksum inner_checksum) {
  const auto drop = [&outcome] {
    outcome.disposition = Disposition::Drop;
    outcome.bytes.clear();
  };
  std::shared_ptr<SaEntry> entry;
  bool through_bundled_ah = false;   // the SPI is the AH SPI of an AH+ESP bundle
  {
    std::shared_lock lock(sas_mutex_);
    const auto bundle = protocol == crypto::SecurityProtocol::Ah ? inbound_bundle_ah_.find(spi) : inbound_bundle_ah_.end();
    if (bundle != inbound_bundle_ah_.end()) {
      through_bundled_ah = true;
      if (!bundle->second->hard_expired) entry = bundle->second;
    } else if (const auto it = inbound_sas_.find(spi); it != inbound_sas_.end() && !it->second->hard_expired) {
      entry = it->second;
    }
  }
  if (!entry || (!through_bundled_ah && entry->protocol != protocol)) {
    unknown_spi_.fetch_add(1, std::memory_order_relaxed);
    count_drop(crypto::DropReason::BadSpi);
    return drop();
  }
  Expected<crypto::Decapsulated, crypto::DropReason> result = unexpected(crypto::DropReason::CryptoFailure);
  if (entry->bundled_ah && !through_bundled_ah) {
    result = unexpected(crypto::DropReason::BundleIncomplete);   // the bundle's ESP without its AH
  } else {
    std::lock_guard lock(entry->mutex);
    if (through_bundled_ah) {
      // AH first; what it protected must be this bundle's ESP, which then opens as usual.
      result = entry->bundled_ah->decapsulate(packet, entry->scratch);
      if (result) {
        const auto inner = summarize_ip_packet(entry->scratch);
        if (!inner || inner->protocol != crypto::kProtoEsp || inner->esp_spi != entry->spi) {
          result = unexpected(crypto::DropReason::BundleIncomplete);
        } else {
          result = std::get<crypto::EspSa>(entry->sa).decapsulate(entry->scratch, outcome.bytes, inner_checksum);
        }
      }
    } else {
      result = std::visit(
          [&](auto& sa) {
            if constexpr (std::is_same_v<std::decay_t<decltype(sa)>, crypto::EspSa>) {
              return sa.decapsulate(packet, outcome.bytes, inner_checksum);
            } else {
              return sa.decapsulate(packet, outcome.bytes);
            }
          },
          entry->sa);
    }
  }
  if (!result) {
    count_drop(result.error());
    entry->drops.fetch_add(1, std::memory_order_relaxed);
    return drop();
  }
  // What came out must be traffic this SA was negotiated for.
  const auto inner = summarize_ip_packet(outcome.bytes);
  const auto snapshot = table();
  std::size_t index = 0;
  const DriverFilter* filter = inner ? snapshot->match(*inner, &index) : nullptr;
  bool covered = false;
  if (filter) {
    // A permit filter lets this traffic in clear, so it may also come protected (a Respond Only
    // peer's dynamic filter covers every protocol, the ICMP its server permits too).
    covered = filter->action == FilterAction::Permit ||
              (!entry->dynamic && filter->action == FilterAction::Negotiate &&
               (filter->id == entry->filter_id ||
                (filter->tunnel_endpoint && reverse_of_filter_matches(snapshot->table, entry->filter_id, *inner))));
  } else if (const auto dynamic = entry->dynamic; dynamic && inner && filter_matches(dynamic->inbound, *inner)) {
    // Where no filter of the table covers it, a default response SA's traffic is its dynamic filter's.
    covered = true;
    dynamic->packets.fetch_add(1, std::memory_order_relaxed);
    dynamic->bytes.fetch_add(outcome.bytes.size(), std::memory_order_relaxed);
  }
  if (!covered) {
    policy_mismatch_.fetch_add(1, std::memory_order_relaxed);
    entry->drops.fetch_add(1, std::memory_order_relaxed);
    return drop();
  }
  if (filter) snapshot->count(index, outcome.bytes.size());
  count_traffic(*entry, outcome.bytes.size());
  outcome.disposition = Disposition::AcceptModified;
}

PacketOutcome PacketEngine::inbound(std::span<const std::byte> packet) {
  PacketOutcome outcome;
  inbound_into(packet, outcome);
  return outcome;
}

void PacketEngine::inbound_into(std::span<const std::byte> packet, PacketOutcome& out, crypto::InnerChecksum inner) {
  out.bytes.clear();  // every outcome but a decrypted packet carries no bytes
  const auto decide = [&out](Disposition disposition) { out.disposition = disposition; };
  const auto summary = summarize_ip_packet(packet);
  if (!summary) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return decide(Disposition::Drop);
  }
  if (summary->esp_spi) return open_ipsec(*summary->esp_spi, crypto::SecurityProtocol::Esp, packet, out, inner);
  if (summary->protocol == crypto::kProtoAh && !summary->later_fragment) {
    ByteReader reader(packet.subspan(summary->upper_layer_offset), "AH header", summary->upper_layer_offset);
    if (auto skipped = reader.skip(4, "next header/length/reserved"); !skipped) {
      count_drop(crypto::DropReason::Truncated);
      return decide(Disposition::Drop);
    }
    const auto spi = reader.u32_be("AH SPI");
    if (!spi) {
      count_drop(crypto::DropReason::Truncated);
      return decide(Disposition::Drop);
    }
    return open_ipsec(*spi, crypto::SecurityProtocol::Ah, packet, out, inner);
  }
  if (summary->protocol == crypto::kProtoUdp && summary->destination_port == kNatTraversalPort && !summary->later_fragment) {
    // RFC 3948: a zero marker means IKE, a single 0xFF a keepalive; anything else starts with an SPI.
    // The name fits std::string's inline buffer: no heap allocation per NAT-T packet.
    ByteReader reader(packet.subspan(summary->upper_layer_offset), "UDP-encap ESP", summary->upper_layer_offset);
    if (!reader.skip(kUdpHeaderLength, "UDP header")) return decide(Disposition::Drop);
    if (reader.remaining() == 1) return decide(Disposition::Drop);
    const auto marker = reader.u32_be("SPI or non-ESP marker");
    if (!marker || *marker == 0) return decide(Disposition::Accept);
    return open_ipsec(*marker, crypto::SecurityProtocol::Esp, packet, out, inner);
  }
  decide(inbound_clear(*summary, packet).disposition);  // never carries bytes
}

PacketOutcome PacketEngine::inbound_clear(const PacketSummary& summary, std::span<const std::byte> packet) {
  const auto snapshot = table();
  std::size_t index = 0;
  const DriverFilter* filter = snapshot->match(summary, &index);
  if (!filter) {
    // A dynamic filter answers what the peer asked to protect; what the peer's own policy sends in
    // clear (Windows' default policies permit ICMP) is accepted as a pass-through filter would.
    if (!dynamic_.empty() && dynamic_.match_inbound(summary, packet.size())) {
      unsecured_accepted_.fetch_add(1, std::memory_order_relaxed);
    }
    return {Disposition::Accept, {}};
  }
  snapshot->count(index, packet.size());
  switch (filter->action) {
    case FilterAction::Permit: return {Disposition::Accept, {}};
    case FilterAction::Block: blocked_.fetch_add(1, std::memory_order_relaxed); return {Disposition::Drop, {}};
    case FilterAction::Negotiate: break;
  }
  const IpAddress peer = filter->tunnel_endpoint.value_or(summary.source);
  if (soft_.pass({filter->id, peer}, packet.size(), clock_())) return {Disposition::Accept, {}};
  if (filter->accept_unsecured) {
    unsecured_accepted_.fetch_add(1, std::memory_order_relaxed);
    return {Disposition::Accept, {}};
  }
  unsecured_dropped_.fetch_add(1, std::memory_order_relaxed);
  return {Disposition::Drop, {}};
}

std::vector<ReleasedPacket> PacketEngine::tick() {
  const auto now = clock_();
  expiry_due_.store(false, std::memory_order_relaxed);
  std::vector<SaExpiry> expiries;
  {
    std::unique_lock lock(sas_mutex_);
    auto check = [&](auto& sas) {
      for (auto it = sas.begin(); it != sas.end();) {
        SaEntry& entry = *it->second;
        const auto age = now - entry.added;
        const auto bytes = entry.bytes.load();
        const auto& life = entry.lifetime;
        const bool hard = (life.hard_time.count() > 0 && age >= life.hard_time) || (life.hard_bytes > 0 && bytes >= life.hard_bytes);
        const bool soft = (life.soft_time.count() > 0 && age >= life.soft_time) || (life.soft_bytes > 0 && bytes >= life.soft_bytes);
        // Soft before hard, also when both came between two ticks: the soft expiry is what starts
        // the rekey, so the next SA is on its way even if this one is gone.
        if ((soft || hard) && !entry.soft_notified.exchange(true)) {
          expiries.push_back({entry.spi, entry.direction, ExpiryKind::Soft, entry.filter_id, entry.peer});
        }
        if (hard && !entry.hard_expired.exchange(true)) {
          expiries.push_back({entry.spi, entry.direction, ExpiryKind::Hard, entry.filter_id, entry.peer});
        }
        ++it;
      }
    };
    check(inbound_sas_);
    check(outbound_by_spi_);
    // Hard-expired SAs are gone for good: drop them from every index (their dynamic filters lose one,
    // a bundle's AH SPI goes with it).
    const auto gone = [this](const auto& item) {
      if (!item.second->hard_expired.load()) return false;
      remove_sa_entry(*item.second);
      return true;
    };
    std::erase_if(inbound_sas_, gone);
    std::erase_if(inbound_bundle_ah_, [](const auto& item) { return item.second->hard_expired.load(); });
    std::erase_if(outbound_by_spi_, gone);
    std::erase_if(outbound_sas_, [](const auto& item) { return item.second->hard_expired.load(); });
  }
  for (const auto& expiry : expiries) listener_.on_expiry(expiry);
  soft_.expire(now);

  std::vector<ReleasedPacket> dropped;
  std::lock_guard lock(held_mutex_);
  for (auto it = held_.begin(); it != held_.end();) {
    if (now - it->second.since < options_.hold_timeout) {
      ++it;
      continue;
    }
    for (auto& held : it->second.packets) dropped.push_back({held.token, Disposition::Drop, {}});
    hold_dropped_.fetch_add(it->second.packets.size(), std::memory_order_relaxed);
    held_total_ -= it->second.packets.size();
    it = held_.erase(it);
  }
  return dropped;
}

DataplaneCounters PacketEngine::counters() const {
  DataplaneCounters out;
  const auto snapshot = table();
  for (std::size_t i = 0; i < snapshot->table.filters.size(); ++i) {
    out.filters.push_back({snapshot->table.filters[i].id, snapshot->packets[i].load(), snapshot->bytes[i].load()});
  }
  {
    std::shared_lock lock(sas_mutex_);
    const auto rows = [&out](const auto& sas) {
      for (const auto& [key, entry] : sas) {
        SaCounters row{entry->spi, entry->direction, entry->protocol, entry->filter_id, entry->dynamic ? entry->dynamic->id : 0U,
                       entry->peer, entry->packets.load(), entry->bytes.load(), entry->drops.load()};
        row.bundled_ah_spi = entry->bundled_ah_spi;
        out.sas.push_back(row);
      }
    };
    rows(inbound_sas_);
    rows(outbound_by_spi_);
  }
  for (std::size_t i = 0; i < out.drops_by_reason.size(); ++i) out.drops_by_reason[i] = drops_by_reason_[i].load();
  out.malformed = malformed_;
  out.blocked = blocked_;
  out.dynamic_filters = dynamic_.counters();
  out.soft_associations = soft_.counters(clock_());
  out.unsecured_dropped = unsecured_dropped_;
  out.unsecured_accepted = unsecured_accepted_;
  out.unknown_spi = unknown_spi_;
  out.policy_mismatch = policy_mismatch_;
  out.held = held_count_;
  out.hold_dropped = hold_dropped_;
  out.acquires = acquires_;
  return out;
}

}  // namespace ward::driver
