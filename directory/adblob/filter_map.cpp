#include "directory/adblob/filter_map.h"

#include <algorithm>

#include "directory/adblob/utf16.h"

namespace ward::adblob {

namespace {

using model::AddressKind;
using model::AddressSpec;
using V4 = std::array<std::uint8_t, 4>;

constexpr V4 kZero{0, 0, 0, 0};
constexpr V4 kAllOnes{255, 255, 255, 255};
const std::u16string kEmptyText(1, u'\0');

// Server sets in their legacy special-filter order: DNS, WINS, DHCP, default gateway.
constexpr std::array<AddressKind, 4> kServerKinds{AddressKind::DnsServers, AddressKind::WinsServers,
                                                   AddressKind::DhcpServer, AddressKind::DefaultGateway};
constexpr std::array<std::uint32_t, 4> kServerTypes{filter_code::kAddressDnsServers, filter_code::kAddressWinsServers,
                                                    filter_code::kAddressDhcpServer, filter_code::kAddressDefaultGateway};

std::optional<std::size_t> server_index(AddressKind kind) {
  for (std::size_t i = 0; i < kServerKinds.size(); ++i) {
    if (kServerKinds[i] == kind) return i;
  }
  return std::nullopt;
}

V4 v4_bytes(const model::IpAddress& a) { return {a.bytes()[0], a.bytes()[1], a.bytes()[2], a.bytes()[3]}; }

V4 v4_mask(unsigned length) {
  const std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
  return {static_cast<std::uint8_t>(mask >> 24), static_cast<std::uint8_t>(mask >> 16),
          static_cast<std::uint8_t>(mask >> 8), static_cast<std::uint8_t>(mask)};
}

std::uint32_t v4_value(const V4& b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

Expected<unsigned, std::string> mask_length(const V4& mask) {
  const std::uint32_t value = v4_value(mask);
  unsigned length = 0;
  while (length < 32 && (value & (0x80000000u >> length))) ++length;
  if (length < 32 && (value << length) != 0) {
    return unexpected("mask " + model::IpAddress::v4(value).to_string() + " is not contiguous");
  }
  return length;
}

Expected<std::u16string, std::string> text_of(const std::string& utf8, const char* what) {
  auto text = to_windows_text(utf8);
  if (!text) return unexpected(std::string(what) + " is not valid UTF-8 text");
  return *text;
}

Expected<std::string, std::string> utf8_of(const std::u16string& text, const char* what) {
  auto out = from_windows_text(text);
  if (!out) return unexpected(std::string(what) + " is not valid UTF-16 text");
  return *out;
}

// ---- legacy part ------------------------------------------------------------------------------

struct LegacySide {
  V4 address = kZero;
  V4 mask = kZero;
  std::optional<std::size_t> server;
};

std::optional<LegacySide> legacy_side(const AddressSpec& spec) {
  switch (spec.kind) {
    case AddressKind::MyAddress:
    case AddressKind::DnsName: return LegacySide{kZero, kAllOnes, {}};
    case AddressKind::Any: return LegacySide{};
    case AddressKind::Host:
      if (!spec.prefix || spec.prefix->family() != model::IpFamily::V4) return std::nullopt;
      if (v4_bytes(spec.prefix->address()) == kZero) return std::nullopt;  // would read as "me"
      return LegacySide{v4_bytes(spec.prefix->address()), kAllOnes, {}};
    case AddressKind::Subnet:
      if (!spec.prefix || spec.prefix->family() != model::IpFamily::V4) return std::nullopt;
      if (spec.prefix->length() == 0 || spec.prefix->length() == 32) return std::nullopt;  // reads as any / host
      return LegacySide{v4_bytes(spec.prefix->address()), v4_mask(spec.prefix->length()), {}};
    default: return LegacySide{kZero, kZero, server_index(spec.kind)};
  }
}

bool legacy_port(const model::PortRange& ports) { return ports.is_any() || (ports.is_single() && ports.first != 0); }

Expected<std::optional<LegacyFilterSpec>, std::string> legacy_of(const model::Filter& f) {
  const auto source = legacy_side(f.source);
  const auto destination = legacy_side(f.destination);
  if (!source || !destination || (source->server && destination->server) || !legacy_port(f.source_ports) ||
      !legacy_port(f.destination_ports)) {
    return std::optional<LegacyFilterSpec>{};
  }
  LegacyFilterSpec out;
  auto description = text_of(f.description, "filter description");
  if (!description) return unexpected(description.error());
  out.description = *description;
  out.source_dns_name = out.destination_dns_name = kEmptyText;
  if (f.source.kind == AddressKind::DnsName) {
    auto name = text_of(f.source.dns_name, "source DNS name");
    if (!name) return unexpected(name.error());
    out.source_dns_name = *name;
  }
  if (f.destination.kind == AddressKind::DnsName) {
    auto name = text_of(f.destination.dns_name, "destination DNS name");
    if (!name) return unexpected(name.error());
    out.destination_dns_name = *name;
  }
  out.id = f.id;
  out.mirrored = f.mirrored ? 1 : 0;
  out.source_address = source->address;
  out.source_mask = source->mask;
  out.destination_address = destination->address;
  out.destination_mask = destination->mask;
  out.protocol = f.protocol;
  out.source_port = f.source_ports.is_any() ? 0 : f.source_ports.first;
  out.destination_port = f.destination_ports.is_any() ? 0 : f.destination_ports.first;
  if (source->server) out.special_filter = static_cast<std::uint8_t>(filter_code::kSpecialSourceDns + *source->server);
  if (destination->server) {
    out.special_filter = static_cast<std::uint8_t>(filter_code::kSpecialDestinationDns + *destination->server);
  }
  return std::optional<LegacyFilterSpec>(out);
}

Expected<AddressSpec, std::string> model_side(const V4& address, const V4& mask, const std::u16string& dns,
                                              std::optional<std::size_t> server, const char* which) {
  if (server) return AddressSpec{kServerKinds[*server], std::nullopt, {}};
  auto name = utf8_of(dns, which);
  if (!name) return unexpected(name.error());
  if (!name->empty()) return AddressSpec::dns(*name);
  if (address == kZero && mask == kAllOnes) return AddressSpec::my_address();
  if (mask == kZero) return AddressSpec::any();
  auto length = mask_length(mask);
  if (!length) return unexpected(std::string(which) + " " + length.error());
  const auto prefix = model::IpPrefix::make(model::IpAddress::v4(v4_value(address)), *length);
  if (!prefix) return unexpected(std::string(which) + " address has bits set beyond its mask");
  return *length == 32 ? AddressSpec{AddressKind::Host, prefix, {}} : AddressSpec::subnet(*prefix);
}

Expected<model::Filter, std::string> model_of(const LegacyFilterSpec& f) {
  model::Filter out;
  out.id = f.id;
  auto description = utf8_of(f.description, "Filter-Description1");
  if (!description) return unexpected(description.error());
  out.description = *description;
  std::optional<std::size_t> source_server, destination_server;
  const std::uint8_t special = f.special_filter;
  if (special >= filter_code::kSpecialSourceDns && special < filter_code::kSpecialSourceDns + 4) {
    source_server = special - filter_code::kSpecialSourceDns;
  } else if (special >= filter_code::kSpecialDestinationDns && special < filter_code::kSpecialDestinationDns + 4) {
    destination_server = special - filter_code::kSpecialDestinationDns;
  } else if (special != filter_code::kSpecialNone) {
    return unexpected("Legacy-Special-Filter " + std::to_string(special) + " is not a known value");
  }
  auto source = model_side(f.source_address, f.source_mask, f.source_dns_name, source_server, "source");
  if (!source) return unexpected(source.error());
  auto destination = model_side(f.destination_address, f.destination_mask, f.destination_dns_name, destination_server,
                                "destination");
  if (!destination) return unexpected(destination.error());
  out.source = *source;
  out.destination = *destination;
  if (f.protocol > 255) return unexpected("Legacy-Protocol " + std::to_string(f.protocol) + " is above 255");
  out.protocol = static_cast<std::uint8_t>(f.protocol);
  out.source_ports = f.source_port == 0 ? model::PortRange::any() : model::PortRange::single(f.source_port);
  out.destination_ports = f.destination_port == 0 ? model::PortRange::any() : model::PortRange::single(f.destination_port);
  out.mirrored = f.mirrored != 0;
  return out;
}

// ---- part 2 -----------------------------------------------------------------------------------

FilterAddressBlock v2_side(const AddressSpec& spec) {
  FilterAddressBlock out{filter_code::kAddressAny, filter_code::kVersionBoth, {}, {}};
  if (const auto server = server_index(spec.kind)) {
    out.type = kServerTypes[*server];
    return out;
  }
  if (spec.kind == AddressKind::MyAddress) out.type = filter_code::kAddressMe;
  if ((spec.kind == AddressKind::Host || spec.kind == AddressKind::Subnet) && spec.prefix) {
    const bool v4 = spec.prefix->family() == model::IpFamily::V4;
    out.type = spec.kind == AddressKind::Host ? filter_code::kAddressSingle : filter_code::kAddressSubnet;
    out.version = v4 ? filter_code::kVersionV4 : filter_code::kVersionV6;
    out.address = spec.prefix->address().bytes();
    if (spec.kind == AddressKind::Subnet) {
      if (v4) {
        const auto mask = v4_mask(spec.prefix->length());
        std::copy(mask.begin(), mask.end(), out.secondary.begin());
      } else {
        out.secondary[0] = static_cast<std::uint8_t>(spec.prefix->length());
      }
    }
  }
  return out;
}

FilterPortBlock v2_port(const model::PortRange& ports) {
  if (ports.is_any()) return {};
  if (ports.is_single()) return {filter_code::kPortSingle, ports.first, 0};
  return {filter_code::kPortRange, ports.first, ports.last};
}

Expected<FilterSpecV2, std::string> v2_of(const model::Filter& f) {
  FilterSpecV2 out;
  auto description = text_of(f.description, "filter description");
  if (!description) return unexpected(description.error());
  out.description = *description;
  out.source_dns_name = out.destination_dns_name = kEmptyText;
  if (f.source.kind == AddressKind::DnsName) {
    auto name = text_of(f.source.dns_name, "source DNS name");
    if (!name) return unexpected(name.error());
    out.source_dns_name = *name;
  }
  if (f.destination.kind == AddressKind::DnsName) {
    auto name = text_of(f.destination.dns_name, "destination DNS name");
    if (!name) return unexpected(name.error());
    out.destination_dns_name = *name;
  }
  out.id = f.id;
  out.mirror_flags = f.mirrored ? 1 : 0;
  out.source = v2_side(f.source);
  out.destination = v2_side(f.destination);
  out.source_port = v2_port(f.source_ports);
  out.destination_port = v2_port(f.destination_ports);
  out.protocol = f.protocol;
  return out;
}

Expected<AddressSpec, std::string> model_side_v2(const FilterAddressBlock& a, const std::u16string& dns, const char* which) {
  auto name = utf8_of(dns, which);
  if (!name) return unexpected(name.error());
  if (!name->empty()) return AddressSpec::dns(*name);
  for (std::size_t i = 0; i < kServerTypes.size(); ++i) {
    if (a.type == kServerTypes[i]) return AddressSpec{kServerKinds[i], std::nullopt, {}};
  }
  if (a.type == filter_code::kAddressMe) return AddressSpec::my_address();
  if (a.type == filter_code::kAddressAny) return AddressSpec::any();
  if (a.type != filter_code::kAddressSingle && a.type != filter_code::kAddressSubnet) {
    return unexpected(std::string(which) + " IPsec-Address-Type " + std::to_string(a.type) +
                      " (ranges) has no counterpart in Ward's model");
  }
  model::IpAddress address;
  unsigned length = 0;
  if (a.version == filter_code::kVersionV4) {
    address = model::IpAddress::v4(v4_value({a.address[0], a.address[1], a.address[2], a.address[3]}));
    length = 32;
    if (a.type == filter_code::kAddressSubnet) {
      auto mask = mask_length({a.secondary[0], a.secondary[1], a.secondary[2], a.secondary[3]});
      if (!mask) return unexpected(std::string(which) + " " + mask.error());
      length = *mask;
    }
  } else if (a.version == filter_code::kVersionV6) {
    address = model::IpAddress::v6(a.address);
    length = a.type == filter_code::kAddressSubnet ? a.secondary[0] : 128;
  } else {
    return unexpected(std::string(which) + " IPsec-Address-Version " + std::to_string(a.version) + " with an address");
  }
  const auto prefix = model::IpPrefix::make(address, length);
  if (!prefix) return unexpected(std::string(which) + " prefix length " + std::to_string(length) + " does not fit its address");
  return a.type == filter_code::kAddressSingle ? AddressSpec{AddressKind::Host, prefix, {}} : AddressSpec::subnet(*prefix);
}

Expected<model::PortRange, std::string> model_port(const FilterPortBlock& p, const char* which) {
  if (p.type == filter_code::kPortAny) return model::PortRange::any();
  if (p.type == filter_code::kPortSingle) return model::PortRange::single(p.port);
  if (p.type == filter_code::kPortRange && p.port <= p.range_end) return model::PortRange{p.port, p.range_end};
  return unexpected(std::string(which) + " Port-Type " + std::to_string(p.type) + " is not valid here");
}

Expected<model::Filter, std::string> model_of(const FilterSpecV2& f) {
  model::Filter out;
  out.id = f.id;
  auto description = utf8_of(f.description, "Filter-Description2");
  if (!description) return unexpected(description.error());
  out.description = *description;
  auto source = model_side_v2(f.source, f.source_dns_name, "source");
  if (!source) return unexpected(source.error());
  auto destination = model_side_v2(f.destination, f.destination_dns_name, "destination");
  if (!destination) return unexpected(destination.error());
  auto source_ports = model_port(f.source_port, "source");
  if (!source_ports) return unexpected(source_ports.error());
  auto destination_ports = model_port(f.destination_port, "destination");
  if (!destination_ports) return unexpected(destination_ports.error());
  if (f.protocol > 255) return unexpected("Filter-Protocol " + std::to_string(f.protocol) + " is above 255");
  out.source = *source;
  out.destination = *destination;
  out.source_ports = *source_ports;
  out.destination_ports = *destination_ports;
  out.protocol = static_cast<std::uint8_t>(f.protocol);
  out.mirrored = f.mirror_flags != 0;
  return out;
}

}  // namespace

Expected<FilterBlob, std::string> filter_blob_of(const model::FilterList& list) {
  FilterBlob blob;
  bool needs_v2 = false;
  for (const auto& filter : list.filters) {
    auto legacy = legacy_of(filter);
    if (!legacy) return unexpected(legacy.error());
    if (*legacy) {
      blob.legacy_filters.push_back(**legacy);
    } else {
      needs_v2 = true;
    }
  }
  if (needs_v2) {
    FilterPartV2 part;
    for (const auto& filter : list.filters) {
      auto spec = v2_of(filter);
      if (!spec) return unexpected(spec.error());
      part.filters.push_back(*spec);
    }
    blob.v2 = std::move(part);
  }
  return blob;
}

Expected<std::vector<model::Filter>, std::string> filters_of(const FilterBlob& blob) {
  std::vector<model::Filter> out;
  const auto add = [&](const auto& specs, const char* part) -> Expected<void, std::string> {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      auto filter = model_of(specs[i]);
      if (!filter) return unexpected(std::string(part) + " filter " + std::to_string(i) + ": " + filter.error());
      out.push_back(*filter);
    }
    return {};
  };
  auto done = blob.v2 ? add(blob.v2->filters, "part 2") : add(blob.legacy_filters, "part 1");
  if (!done) return unexpected(done.error());
  return out;
}

}  // namespace ward::adblob
