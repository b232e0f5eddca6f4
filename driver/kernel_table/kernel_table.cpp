#include "driver/kernel_table/kernel_table.h"

#include <cstring>

#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>

#include "common/ip_protocol.h"
#include "driver/kernel_table/map_split.h"
#include "driver/kernel_table/nft_netlink.h"

namespace ward::driver {

namespace {

using nft::be16;
using nft::be32;
using nft::kReg32First;
using nft::RuleBuilder;

constexpr std::uint8_t kIpv6FragmentHeader = 44;
constexpr std::uint8_t kTcpOptionMss = 2;
constexpr int kRawPriority = -300;  // NF_IP_PRI_RAW: before connection tracking

// nft's data type numbers, so that `nft list` prints the maps' keys readably.
constexpr std::uint32_t kTypeBits = 6;
constexpr std::uint32_t kTypeIpv4 = 7, kTypeIpv6 = 8, kTypeProtocol = 12, kTypeService = 13;

const char* family_suffix(IpFamily family) { return family == IpFamily::V4 ? "_v4" : "_v6"; }
const char* kind_suffix(KeyKind kind) { return kind == KeyKind::Ported ? "_ported" : "_portless"; }
std::uint8_t nfproto(IpFamily family) { return family == IpFamily::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6; }
std::uint32_t address_length(IpFamily family) { return family == IpFamily::V4 ? 4 : 16; }

std::vector<std::uint8_t> one_byte(std::uint8_t value) { return {value}; }

RuleBuilder& match_nfproto(RuleBuilder& rule, IpFamily family) {
  return rule.meta_load(NFT_META_NFPROTO, kReg32First).cmp(kReg32First, NFT_CMP_EQ, one_byte(nfproto(family)));
}
RuleBuilder& match_protocol(RuleBuilder& rule, std::uint8_t protocol) {
  return rule.meta_load(NFT_META_L4PROTO, kReg32First).cmp(kReg32First, NFT_CMP_EQ, one_byte(protocol));
}
RuleBuilder& match_udp_port(RuleBuilder& rule, bool source, std::uint16_t port) {
  return match_protocol(rule, ip_proto::kUdp)
      .payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, source ? 0 : 2, 2, kReg32First)
      .cmp(kReg32First, NFT_CMP_EQ, be16(port));
}
RuleBuilder& match_interface(RuleBuilder& rule, bool outbound, const std::string& name) {
  std::vector<std::uint8_t> padded(16, 0);  // IFNAMSIZ
  std::memcpy(padded.data(), name.data(), std::min<std::size_t>(name.size(), 15));
  return rule.meta_load(outbound ? NFT_META_OIFNAME : NFT_META_IIFNAME, kReg32First).cmp(kReg32First, NFT_CMP_EQ, padded);
}
// A fragment other than the first (no transport header).
RuleBuilder& match_later_fragment(RuleBuilder& rule, IpFamily family) {
  if (family == IpFamily::V4) {
    rule.payload_load(NFT_PAYLOAD_NETWORK_HEADER, 6, 2, kReg32First).bitwise(kReg32First, be16(0x1FFF));
    return rule.cmp(kReg32First, NFT_CMP_NEQ, be16(0));
  }
  rule.exthdr_load(NFT_EXTHDR_OP_IPV6, kIpv6FragmentHeader, 2, 2, kReg32First).bitwise(kReg32First, be16(0xFFF8));
  return rule.cmp(kReg32First, NFT_CMP_NEQ, be16(0));
}

void add(nft::Batch& batch, RuleBuilder& rule, const std::string& what) {
  auto built = rule.take();
  batch.add_rule(*built, what);
}

// Key layout of one map: address . address . protocol [. port . port], each field in its own
// 32-bit register (nft's concatenation), in network byte order.
struct KeyLayout {
  std::vector<std::uint8_t> field_lengths;
  std::uint32_t key_length = 0;
  std::uint32_t key_type = 0;
};

KeyLayout layout_of(IpFamily family, KeyKind kind) {
  KeyLayout layout;
  const auto address = static_cast<std::uint8_t>(address_length(family));
  const std::uint32_t address_type = family == IpFamily::V4 ? kTypeIpv4 : kTypeIpv6;
  layout.field_lengths = {address, address, 1};
  layout.key_type = (((address_type << kTypeBits) | address_type) << kTypeBits) | kTypeProtocol;
  if (kind == KeyKind::Ported) {
    layout.field_lengths.push_back(2);
    layout.field_lengths.push_back(2);
    layout.key_type = (((layout.key_type << kTypeBits) | kTypeService) << kTypeBits) | kTypeService;
  }
  for (const auto length : layout.field_lengths) layout.key_length += (length + 3U) / 4U * 4U;
  return layout;
}

std::vector<std::uint8_t> key_bytes(const KernelElement& e, IpFamily family, KeyKind kind, KeyOrder order, bool last) {
  std::vector<std::uint8_t> key;
  const auto width = address_length(family);
  const auto& source = last ? e.source_last : e.source_first;
  const auto& destination = last ? e.destination_last : e.destination_first;
  const bool destination_first = order == KeyOrder::DestinationFirst;
  for (const auto* address : {destination_first ? &destination : &source, destination_first ? &source : &destination}) {
    key.insert(key.end(), address->begin(), address->begin() + width);
  }
  key.push_back(last ? e.protocol_last : e.protocol_first);
  key.resize(key.size() + 3, 0);
  if (kind == KeyKind::Ported) {
    const auto source_port = last ? e.source_ports.last : e.source_ports.first;
    const auto destination_port = last ? e.destination_ports.last : e.destination_ports.first;
    for (const auto port : {source_port, destination_port}) {
      key.push_back(static_cast<std::uint8_t>(port >> 8));
      key.push_back(static_cast<std::uint8_t>(port));
      key.resize(key.size() + 2, 0);
    }
  }
  return key;
}

// Loads the packet's key into the registers from kReg32First on.
RuleBuilder& load_key(RuleBuilder& rule, IpFamily family, KeyKind kind, KeyOrder order) {
  const bool v4 = family == IpFamily::V4;
  const std::uint32_t words = v4 ? 1 : 4;
  const std::uint32_t source_offset = v4 ? 12 : 8, destination_offset = v4 ? 16 : 24;
  const bool destination_first = order == KeyOrder::DestinationFirst;
  rule.payload_load(NFT_PAYLOAD_NETWORK_HEADER, destination_first ? destination_offset : source_offset, address_length(family), kReg32First);
  rule.payload_load(NFT_PAYLOAD_NETWORK_HEADER, destination_first ? source_offset : destination_offset, address_length(family),
                    kReg32First + words);
  rule.meta_load(NFT_META_L4PROTO, kReg32First + 2 * words);
  if (kind == KeyKind::Ported) {
    rule.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, kReg32First + 2 * words + 1);
    rule.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, kReg32First + 2 * words + 2);
  }
  return rule;
}

}  // namespace

KernelTable::KernelTable(KernelTableOptions options, std::unique_ptr<nft::Socket> socket)
    : options_(std::move(options)), socket_(std::move(socket)) {}

KernelTable::~KernelTable() = default;

Expected<std::unique_ptr<KernelTable>, std::string> KernelTable::open(KernelTableOptions options) {
  auto socket = nft::Socket::open();
  if (!socket) return unexpected(socket.error());
  return std::unique_ptr<KernelTable>(new KernelTable(std::move(options), std::move(*socket)));
}

void KernelTable::emit_base(nft::Batch& batch) {
  const auto& t = options_.table;
  for (const char* chain : {"ipsec", "negotiate", "filters", "dynamic"}) batch.add_chain(t, chain);
  for (const auto* prefix : {"filters", "dynamic"}) {
    for (const auto family : {IpFamily::V4, IpFamily::V6}) {
      const std::string base = std::string(prefix) + family_suffix(family);
      batch.add_chain(t, base);
      for (const auto kind : {KeyKind::Ported, KeyKind::Portless}) batch.add_chain(t, base + kind_suffix(kind));
    }
  }
  batch.add_chain(t, "output", NF_INET_LOCAL_OUT, kRawPriority);
  batch.add_chain(t, "prerouting", NF_INET_PRE_ROUTING, kRawPriority);

  // ipsec: what comes in protected goes to Ward (or passes, for a kernel that opens it itself).
  if (options_.queue_ipsec && options_.esp_taken_before) {
    RuleBuilder rule(t, "ipsec");
    match_protocol(rule, ip_proto::kEsp).verdict(NF_DROP);
    add(batch, rule, "rule ipsec (ESP taken by the packet socket)");
    // ESP in UDP too, but not IKE's datagrams on 4500 (the non-ESP marker: four zero bytes) nor
    // NAT keepalives (one byte: the four-byte load fails, the rule does not match): they are queued.
    RuleBuilder in_udp(t, "ipsec");
    match_udp_port(in_udp, false, kNatTraversalPort)
        .payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 8, 4, kReg32First)
        .cmp(kReg32First, NFT_CMP_NEQ, be32(0))
        .verdict(NF_DROP);
    add(batch, in_udp, "rule ipsec (ESP in UDP taken by the packet socket)");
  }
  {
    RuleBuilder rule(t, "ipsec");
    if (options_.queue_ipsec) {
      rule.queue(options_.first_queue, options_.queue_count);
    } else {
      rule.verdict(NF_ACCEPT);
    }
    add(batch, rule, "rule ipsec");
  }
  // negotiate: ESP makes packets longer, so TCP connections through negotiate filters get an MSS
  // that leaves room for it and full-size segments never need fragmenting after protection.
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    const auto mss = family == IpFamily::V4 ? options_.tcp_mss_ipv4 : options_.tcp_mss_ipv6;
    RuleBuilder rule(t, "negotiate");
    match_nfproto(rule, family);
    match_protocol(rule, ip_proto::kTcp);
    rule.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, kReg32First).bitwise(kReg32First, one_byte(0x06));  // SYN, RST
    rule.cmp(kReg32First, NFT_CMP_EQ, one_byte(0x02));
    rule.exthdr_load(NFT_EXTHDR_OP_TCPOPT, kTcpOptionMss, 2, 2, kReg32First).cmp(kReg32First, NFT_CMP_GT, be16(mss));
    rule.immediate_data(kReg32First, be16(mss)).exthdr_store(NFT_EXTHDR_OP_TCPOPT, kTcpOptionMss, 2, 2, kReg32First);
    add(batch, rule, "rule negotiate (TCP MSS)");
  }
  if (options_.negotiate == NegotiateVerdict::Queue && options_.tcp_queue) {
    RuleBuilder rule(t, "negotiate");
    match_protocol(rule, ip_proto::kTcp).queue(*options_.tcp_queue, 1);
    add(batch, rule, "rule negotiate (TCP queue)");
  }
  {
    RuleBuilder rule(t, "negotiate");
    if (options_.negotiate == NegotiateVerdict::Queue) {
      rule.queue(options_.first_queue, options_.queue_count);
    } else {
      rule.verdict(NF_ACCEPT);
    }
    add(batch, rule, "rule negotiate");
  }

  // filters / dynamic: by family, then by key (TCP and UDP with their ports, the rest without).
  for (const auto* prefix : {"filters", "dynamic"}) {
    for (const auto family : {IpFamily::V4, IpFamily::V6}) {
      const std::string base = std::string(prefix) + family_suffix(family);
      RuleBuilder by_family(t, prefix);
      match_nfproto(by_family, family).verdict(NFT_GOTO, base);
      add(batch, by_family, std::string("rule ") + prefix);
      RuleBuilder fragment(t, base);
      match_later_fragment(fragment, family).verdict(NFT_GOTO, base + "_portless");
      add(batch, fragment, "rule " + base + " (later fragments)");
      for (const auto protocol : {ip_proto::kTcp, ip_proto::kUdp}) {
        RuleBuilder ported(t, base);
        match_protocol(ported, protocol).verdict(NFT_GOTO, base + "_ported");
        add(batch, ported, "rule " + base);
      }
      RuleBuilder rest(t, base);
      rest.verdict(NFT_GOTO, base + "_portless");
      add(batch, rest, "rule " + base);
    }
  }

  for (const bool outbound : {true, false}) {
    const std::string chain = outbound ? "output" : "prerouting";
    for (const auto& name : options_.exempt_interfaces) {
      RuleBuilder rule(t, chain);
      match_interface(rule, outbound, name).verdict(NF_ACCEPT);
      add(batch, rule, "rule " + chain + " (exempt interface " + name + ")");
    }
    // IKE passes untouched.
    const std::vector<std::pair<bool, std::uint16_t>> ike =
        outbound ? std::vector<std::pair<bool, std::uint16_t>>{{true, kIkePort}, {false, kIkePort}, {true, kNatTraversalPort}}
                 : std::vector<std::pair<bool, std::uint16_t>>{{false, kIkePort}};
    for (const auto& [source, port] : ike) {
      RuleBuilder rule(t, chain);
      match_udp_port(rule, source, port).verdict(NF_ACCEPT);
      add(batch, rule, "rule " + chain + " (IKE)");
    }
    if (outbound) {
      // ESP and AH leaving this host are already protected (Ward's own come back as verdicts,
      // past this hook).
      for (const auto protocol : {ip_proto::kEsp, ip_proto::kAh}) {
        RuleBuilder rule(t, chain);
        match_protocol(rule, protocol).verdict(NF_ACCEPT);
        add(batch, rule, "rule output (ESP/AH)");
      }
    } else {
      // A UDP datagram larger than the path MTU arrives in fragments and only the first carries
      // the ports (IKE main mode 3 with an AD Kerberos ticket is one). Nothing reassembles them
      // before this hook, so the later fragments pass and the first one decides. (IPv4, as before.)
      RuleBuilder fragments(t, chain);
      match_nfproto(fragments, IpFamily::V4);
      match_protocol(fragments, ip_proto::kUdp);
      match_later_fragment(fragments, IpFamily::V4).verdict(NF_ACCEPT);
      add(batch, fragments, "rule prerouting (later UDP fragments)");
      for (const auto protocol : {ip_proto::kEsp, ip_proto::kAh}) {
        RuleBuilder rule(t, chain);
        match_protocol(rule, protocol).verdict(NFT_GOTO, "ipsec");
        add(batch, rule, "rule prerouting (ESP/AH)");
      }
      RuleBuilder nat_t(t, chain);
      match_udp_port(nat_t, false, kNatTraversalPort).verdict(NFT_GOTO, "ipsec");
      add(batch, nat_t, "rule prerouting (NAT-T)");
    }
    RuleBuilder filters(t, chain);
    filters.verdict(NFT_JUMP, "filters");
    add(batch, filters, "rule " + chain);
    // Consulted only where no filter of the table decided: the static rule wins.
    RuleBuilder dynamic(t, chain);
    dynamic.verdict(NFT_JUMP, "dynamic");
    add(batch, dynamic, "rule " + chain);
  }
}

void KernelTable::emit_family(nft::Batch& batch, const std::string& prefix, const KernelPlan& plan, IpFamily family, bool decided_here,
                              std::vector<std::string>& maps) {
  const auto& t = options_.table;
  for (const auto kind : {KeyKind::Ported, KeyKind::Portless}) {
    const std::string chain = prefix + family_suffix(family) + kind_suffix(kind);
    const auto layout = layout_of(family, kind);
    std::uint8_t field_lengths[16] = {};
    for (std::size_t i = 0; i < layout.field_lengths.size(); ++i) field_lengths[i] = layout.field_lengths[i];
    // A layer's elements never overlap, so a layer spreads over several maps (map_split.h: each
    // element keyed by its rarer address first, at most max_map_elements per map) looked up one
    // after the other with the same result.
    const auto maps_of_layers = split_into_maps(plan.of(family, kind), options_.max_map_elements);
    for (std::size_t m = 0; m < maps_of_layers.size(); ++m) {
      const auto& [layer, order, elements] = maps_of_layers[m];
      const std::string name = chain + "_" + std::to_string(layer + 1) + "_" + std::to_string(m + 1) +
                               (order == KeyOrder::DestinationFirst ? "_d" : "");
      nft::SetPtr set(nftnl_set_alloc());
      if (!set) throw std::bad_alloc();
      nftnl_set_set_u32(set.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
      nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, t.c_str());
      nftnl_set_set_str(set.get(), NFTNL_SET_NAME, name.c_str());
      nftnl_set_set_u32(set.get(), NFTNL_SET_ID, next_set_id_++);
      nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_INTERVAL | NFT_SET_CONCAT);
      nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, layout.key_type);
      nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, layout.key_length);
      nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
      nftnl_set_set_data(set.get(), NFTNL_SET_DESC_CONCAT, field_lengths, sizeof field_lengths);
      nftnl_expr* counter = nftnl_expr_alloc("counter");
      if (counter == nullptr) throw std::bad_alloc();
      nftnl_set_add_expr(set.get(), counter);  // every element gets its own counter
      batch.add_set(*set, "map " + name);
      bool counted = false;
      for (const auto* element_in_layer : elements) {
        const auto& element = *element_in_layer;
        nftnl_set_elem* e = nftnl_set_elem_alloc();
        if (e == nullptr) throw std::bad_alloc();
        const auto first = key_bytes(element, family, kind, order, false);
        const auto last = key_bytes(element, family, kind, order, true);
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, first.data(), static_cast<std::uint32_t>(first.size()));
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, last.data(), static_cast<std::uint32_t>(last.size()));
        switch (element.action) {
          case FilterAction::Permit: nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NF_ACCEPT); break;
          case FilterAction::Block: nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NF_DROP); break;
          case FilterAction::Negotiate:
            nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<std::uint32_t>(NFT_GOTO));
            nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, "negotiate");
            break;
        }
        counted = counted || element.action != FilterAction::Negotiate;
        const std::uint32_t index = element.filter_index;
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, &index, sizeof index);
        nftnl_set_elem_add(set.get(), e);
      }
      batch.add_elements(*set, "elements of map " + name);
      if (decided_here && counted) maps.push_back(name);
      RuleBuilder rule(t, chain);
      load_key(rule, family, kind, order).lookup(kReg32First, name, true);
      add(batch, rule, "rule " + chain + " (map " + name + ")");
    }
    if (kind == KeyKind::Ported) {
      // No filter for ports took it: the filters for any port decide (kernel_layers.h).
      RuleBuilder rest(t, chain);
      rest.verdict(NFT_GOTO, prefix + family_suffix(family) + kind_suffix(KeyKind::Portless));
      add(batch, rest, "rule " + chain);
    }
  }
}

Expected<KernelTableFigures, std::string> KernelTable::install(const FilterTable& table, std::span<const DriverFilter> dynamic) {
  std::lock_guard lock(mutex_);
  return install_locked(table, dynamic);
}

Expected<KernelTableFigures, std::string> KernelTable::install_locked(const FilterTable& table, std::span<const DriverFilter> dynamic) {
  const auto plan = plan_kernel_layers(table.filters);
  const auto dynamic_plan = plan_kernel_layers(dynamic);
  nft::Batch batch;
  // Created if missing, so that deleting it cannot fail; then built anew. One transaction: packets
  // see the old table or the new one.
  batch.add_table(options_.table);
  batch.delete_table(options_.table);
  batch.add_table(options_.table);
  emit_base(batch);
  std::vector<std::string> counted, dynamic_maps;
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    emit_family(batch, "filters", plan, family, true, counted);
    emit_family(batch, "dynamic", dynamic_plan, family, false, dynamic_maps);
    if (family == IpFamily::V4 && inject_failure_after_ipv4_) {
      nft::SetPtr missing(nftnl_set_alloc());
      nftnl_set_set_u32(missing.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
      nftnl_set_set_str(missing.get(), NFTNL_SET_TABLE, options_.table.c_str());
      nftnl_set_set_str(missing.get(), NFTNL_SET_NAME, "injected_failure");
      nftnl_set_elem* e = nftnl_set_elem_alloc();
      const auto key = be32(1);
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), static_cast<std::uint32_t>(key.size()));
      nftnl_set_elem_add(missing.get(), e);
      batch.add_elements(*missing, "elements of map injected_failure (a test's injected failure)");
    }
  }
  if (auto committed = socket_->commit(batch); !committed) return unexpected(committed.error());
  installed_ = true;
  filter_count_ = table.filters.size();
  counted_maps_ = std::move(counted);
  dynamic_maps_ = std::move(dynamic_maps);
  std::size_t layers = 0;
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    for (const auto kind : {KeyKind::Ported, KeyKind::Portless}) layers = std::max(layers, plan.of(family, kind).size());
  }
  return KernelTableFigures{plan.element_count(), layers, plan.shadowed, batch.message_count()};
}

Expected<void, std::string> KernelTable::replace_dynamic(std::span<const DriverFilter> dynamic) {
  std::lock_guard lock(mutex_);
  if (!installed_) {
    auto installed = install_locked(FilterTable{}, dynamic);
    if (!installed) return unexpected(installed.error());
    return {};
  }
  const auto plan = plan_kernel_layers(dynamic);
  nft::Batch batch;
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    for (const auto kind : {KeyKind::Ported, KeyKind::Portless}) {
      batch.flush_chain(options_.table, std::string("dynamic") + family_suffix(family) + kind_suffix(kind));
    }
  }
  for (const auto& map : dynamic_maps_) batch.delete_set(options_.table, map);
  std::vector<std::string> maps;
  for (const auto family : {IpFamily::V4, IpFamily::V6}) emit_family(batch, "dynamic", plan, family, false, maps);
  if (auto committed = socket_->commit(batch); !committed) return unexpected(committed.error());
  dynamic_maps_ = std::move(maps);
  return {};
}

Expected<std::vector<KernelTable::Count>, std::string> KernelTable::counters() const {
  std::lock_guard lock(mutex_);
  std::vector<Count> counts(filter_count_);
  for (const auto& map : counted_maps_) {
    auto dumped = socket_->dump_elements(options_.table, map, [&](nftnl_set_elem& element) {
      std::uint32_t length = 0;
      const void* data = nftnl_set_elem_get(&element, NFTNL_SET_ELEM_USERDATA, &length);
      if (data == nullptr || length != sizeof(std::uint32_t)) return;
      std::uint32_t index = 0;
      std::memcpy(&index, data, sizeof index);
      if (index >= counts.size()) return;
      // A negotiate filter's element may share a map with permit and block elements; its packets
      // are Ward's to count (the engine's, or the SPD's SAs), not the kernel table's.
      if (!nftnl_set_elem_is_set(&element, NFTNL_SET_ELEM_VERDICT)) return;
      const auto verdict = static_cast<std::int32_t>(nftnl_set_elem_get_u32(&element, NFTNL_SET_ELEM_VERDICT));
      if (verdict != NF_ACCEPT && verdict != NF_DROP) return;
      struct Sum {
        Count* count;
      } sum{&counts[index]};
      nftnl_set_elem_expr_foreach(
          &element,
          [](nftnl_expr* expr, void* out) {
            const char* name = nftnl_expr_get_str(expr, NFTNL_EXPR_NAME);
            if (name != nullptr && std::strcmp(name, "counter") == 0) {
              auto* count = static_cast<Sum*>(out)->count;
              count->packets += nftnl_expr_get_u64(expr, NFTNL_EXPR_CTR_PACKETS);
              count->bytes += nftnl_expr_get_u64(expr, NFTNL_EXPR_CTR_BYTES);
            }
            return 0;
          },
          &sum);
    });
    if (!dumped) return unexpected(dumped.error());
  }
  return counts;
}

Expected<void, std::string> KernelTable::remove() {
  std::lock_guard lock(mutex_);
  nft::Batch batch;
  batch.add_table(options_.table);
  batch.delete_table(options_.table);
  if (auto committed = socket_->commit(batch); !committed) return unexpected(committed.error());
  installed_ = false;
  filter_count_ = 0;
  counted_maps_.clear();
  dynamic_maps_.clear();
  return {};
}

}  // namespace ward::driver
