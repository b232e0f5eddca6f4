#include "ike/v2/payloads.h"

#include <algorithm>

#include "ike/v2/payload_bodies.h"

namespace ward::ike::v2 {
namespace {

template <class T>
using Result = Expected<T, ParseError>;

Bytes copy(std::span<const std::byte> s) { return Bytes(s.begin(), s.end()); }

Result<void> expect_consumed(const ByteReader& body, std::string_view field) {
  if (body.empty()) return {};
  return unexpected(body.error(field, std::to_string(body.remaining()) + " bytes left over"));
}

Result<Transform> parse_transform(ByteReader& reader, bool last_expected) {
  auto last = reader.u8("Last Substruc");
  if (!last) return unexpected(last.error());
  if (!reader.skip(1, "RESERVED")) return unexpected(reader.error("RESERVED", "truncated"));
  auto length = reader.u16_be("Transform Length");
  if (!length) return unexpected(length.error());
  if (*length < 8) return unexpected(reader.error("Transform Length", "Transform Length " + std::to_string(*length) + " < 8"));
  auto body = reader.sub_reader(*length - 4u, "transform");
  if (!body) return unexpected(body.error());
  if ((*last == 0) != last_expected) {
    return unexpected(body->error("Last Substruc", "Last Substruc " + std::to_string(*last) +
                                                       (last_expected ? " on the last transform" : " before the last transform")));
  }
  if (*last != 0 && *last != 3) return unexpected(body->error("Last Substruc", "Last Substruc " + std::to_string(*last) + ", not 0 or 3"));
  Transform t;
  auto type = body->u8("Transform Type");
  if (!type) return unexpected(type.error());
  t.type = static_cast<TransformType>(*type);
  if (!body->skip(1, "RESERVED")) return unexpected(body->error("RESERVED", "truncated"));
  auto id = body->u16_be("Transform ID");
  if (!id) return unexpected(id.error());
  t.id = *id;
  while (!body->empty()) {
    auto attr_type = body->u16_be("Attribute Type");
    if (!attr_type) return unexpected(attr_type.error());
    if ((*attr_type & kAttributeFormatTv) == 0) {
      return unexpected(body->error("Attribute Type", "TLV attribute " + std::to_string(*attr_type) + " (IKEv2 defines none)"));
    }
    auto value = body->u16_be("Attribute Value");
    if (!value) return unexpected(value.error());
    if ((*attr_type & ~kAttributeFormatTv) != kKeyLengthAttribute) {
      return unexpected(body->error("Attribute Type", "unknown attribute " + std::to_string(*attr_type & ~kAttributeFormatTv)));
    }
    if (t.key_length) return unexpected(body->error("Attribute Type", "Key Length twice"));
    t.key_length = *value;
  }
  return t;
}

Result<Proposal> parse_proposal(ByteReader& reader, bool last_expected, std::uint8_t expected_number) {
  const std::size_t start = reader.offset();
  auto last = reader.u8("Last Substruc");
  if (!last) return unexpected(last.error());
  if (!reader.skip(1, "RESERVED")) return unexpected(reader.error("RESERVED", "truncated"));
  auto length = reader.u16_be("Proposal Length");
  if (!length) return unexpected(length.error());
  if (*length < 8) return unexpected(reader.error("Proposal Length", "Proposal Length " + std::to_string(*length) + " < 8"));
  auto body = reader.sub_reader(*length - 4u, "proposal");
  if (!body) return unexpected(body.error());
  if ((*last == 0) != last_expected || (*last != 0 && *last != 2)) {
    ParseError e = body->error("Last Substruc", "Last Substruc " + std::to_string(*last) + " does not match the proposal's place");
    e.offset = start;
    return unexpected(std::move(e));
  }
  Proposal p;
  const std::size_t number_offset = body->offset();
  auto number = body->u8("Proposal Num");
  auto protocol = body->u8("Protocol ID");
  auto spi_size = body->u8("SPI Size");
  auto count = body->u8("Num Transforms");
  if (!number || !protocol || !spi_size || !count) return unexpected(body->error("proposal header", "truncated"));
  // A response carries the one accepted proposal under the number the request gave it (3.3.1).
  if (expected_number == 0 ? *number == 0 : *number != expected_number) {
    ParseError e = body->error("Proposal Num", "Proposal Num " + std::to_string(*number) + ", expected " +
                                   (expected_number == 0 ? std::string("1 or more") : std::to_string(expected_number)));
    e.offset = number_offset;
    return unexpected(std::move(e));
  }
  if (*protocol < 1 || *protocol > 3) return unexpected(body->error("Protocol ID", "unknown Protocol ID " + std::to_string(*protocol)));
  p.number = *number;
  p.protocol = static_cast<ProtocolId>(*protocol);
  auto spi = body->bytes(*spi_size, "SPI");
  if (!spi) return unexpected(spi.error());
  p.spi = copy(*spi);
  if (*count == 0) return unexpected(body->error("Num Transforms", "no transforms"));
  for (unsigned i = 0; i < *count; ++i) {
    auto t = parse_transform(*body, i + 1 == *count);
    if (!t) return unexpected(t.error());
    p.transforms.push_back(*t);
  }
  if (auto c = expect_consumed(*body, "Num Transforms"); !c) return unexpected(c.error());
  return p;
}

Result<IpAddress> read_address(ByteReader& body, std::size_t size, std::string_view field) {
  auto raw = body.bytes(size, field);
  if (!raw) return unexpected(raw.error());
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < size; ++i) b[i] = std::to_integer<std::uint8_t>((*raw)[i]);
  if (size == 4) return IpAddress::v4((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3]);
  return IpAddress::v6(b);
}

}  // namespace

namespace detail {

std::string structure_of(std::uint8_t type) {
  return "IKEv2 " + std::string(name(static_cast<PayloadType>(type))) + " payload";
}

Result<Payload> parse_body(std::uint8_t type, bool critical, ByteReader& body) {
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::SecurityAssociation: {
      SaPayload sa;
      std::size_t first_number_offset = 0;
      if (body.empty()) return unexpected(body.error("Proposals", "no proposal"));
      while (!body.empty()) {
        const bool last = [&] {
          auto peek = body;
          auto l = peek.u8("Last Substruc");
          return l && *l == 0;
        }();
        // The first proposal's number is checked once we know whether it is alone.
        const auto expected = sa.proposals.empty() ? std::uint8_t{0} : static_cast<std::uint8_t>(sa.proposals.back().number + 1);
        const std::size_t number_offset = body.offset() + 4;
        auto p = parse_proposal(body, last, expected);
        if (p && sa.proposals.size() == 1 && sa.proposals.front().number != 1) {
          return unexpected(ParseError{structure_of(type), "Proposal Num", first_number_offset,
                                       "the first of several proposals is number " + std::to_string(sa.proposals.front().number) + ", not 1"});
        }
        if (sa.proposals.empty()) first_number_offset = number_offset;
        if (!p) return unexpected(p.error());
        sa.proposals.push_back(std::move(*p));
        if (last && !body.empty()) return unexpected(body.error("Proposals", "bytes after the last proposal"));
      }
      return Payload{std::move(sa)};
    }
    case PayloadType::KeyExchange: {
      KePayload ke;
      auto group = body.u16_be("DH Group Num");
      if (!group) return unexpected(group.error());
      if (!body.skip(2, "RESERVED")) return unexpected(body.error("RESERVED", "truncated"));
      ke.group = *group;
      ke.data = copy(body.rest());
      if (ke.data.empty()) return unexpected(body.error("Key Exchange Data", "empty"));
      return Payload{std::move(ke)};
    }
    case PayloadType::Nonce: {
      NoncePayload n;
      n.data = copy(body.rest());
      if (n.data.size() < kMinNonceSize || n.data.size() > kMaxNonceSize) {
        return unexpected(body.error("Nonce Data", "nonce of " + std::to_string(n.data.size()) + " bytes, not 16..256"));
      }
      return Payload{std::move(n)};
    }
    case PayloadType::IdInitiator:
    case PayloadType::IdResponder: {
      IdPayload id;
      id.initiator = static_cast<PayloadType>(type) == PayloadType::IdInitiator;
      auto t = body.u8("ID Type");
      if (!t) return unexpected(t.error());
      if (!body.skip(3, "RESERVED")) return unexpected(body.error("RESERVED", "truncated"));
      id.type = static_cast<IdType>(*t);
      id.data = copy(body.rest());
      if ((id.type == IdType::Ipv4Address && id.data.size() != 4) || (id.type == IdType::Ipv6Address && id.data.size() != 16)) {
        return unexpected(body.error("Identification Data", "address of " + std::to_string(id.data.size()) + " bytes"));
      }
      return Payload{std::move(id)};
    }
    case PayloadType::Authentication: {
      AuthPayload a;
      auto m = body.u8("Auth Method");
      if (!m) return unexpected(m.error());
      if (!body.skip(3, "RESERVED")) return unexpected(body.error("RESERVED", "truncated"));
      a.method = static_cast<AuthMethod>(*m);
      a.data = copy(body.rest());
      if (a.data.empty()) return unexpected(body.error("Authentication Data", "empty"));
      return Payload{std::move(a)};
    }
    case PayloadType::Certificate:
    case PayloadType::CertificateRequest: {
      CertPayload c;
      c.request = static_cast<PayloadType>(type) == PayloadType::CertificateRequest;
      auto e = body.u8("Cert Encoding");
      if (!e) return unexpected(e.error());
      c.encoding = *e;
      c.data = copy(body.rest());
      return Payload{std::move(c)};
    }
    case PayloadType::Notify: {
      NotifyPayload n;
      auto protocol = body.u8("Protocol ID");
      auto spi_size = body.u8("SPI Size");
      auto t = body.u16_be("Notify Message Type");
      if (!protocol || !spi_size || !t) return unexpected(body.error("notify header", "truncated"));
      n.protocol = *protocol;
      n.type = *t;
      auto spi = body.bytes(*spi_size, "SPI");
      if (!spi) return unexpected(spi.error());
      n.spi = copy(*spi);
      n.data = copy(body.rest());
      return Payload{std::move(n)};
    }
    case PayloadType::Delete: {
      DeletePayload d;
      auto protocol = body.u8("Protocol ID");
      auto spi_size = body.u8("SPI Size");
      auto count = body.u16_be("Num of SPIs");
      if (!protocol || !spi_size || !count) return unexpected(body.error("delete header", "truncated"));
      if (*protocol < 1 || *protocol > 3) return unexpected(body.error("Protocol ID", "unknown Protocol ID " + std::to_string(*protocol)));
      d.protocol = static_cast<ProtocolId>(*protocol);
      d.spi_size = *spi_size;
      const std::size_t expected_size = d.protocol == ProtocolId::Ike ? 0 : 4;
      if (*spi_size != expected_size) {
        return unexpected(body.error("SPI Size", "SPI Size " + std::to_string(*spi_size) + " for protocol " + std::to_string(*protocol)));
      }
      for (unsigned i = 0; i < *count && expected_size != 0; ++i) {
        auto spi = body.bytes(*spi_size, "SPI");
        if (!spi) return unexpected(spi.error());
        d.spis.push_back(copy(*spi));
      }
      if (auto c = expect_consumed(body, "Num of SPIs"); !c) return unexpected(c.error());
      return Payload{std::move(d)};
    }
    case PayloadType::VendorId:
      return Payload{VendorIdPayload{copy(body.rest())}};
    case PayloadType::TsInitiator:
    case PayloadType::TsResponder: {
      TsPayload ts;
      ts.initiator = static_cast<PayloadType>(type) == PayloadType::TsInitiator;
      auto count = body.u8("Number of TSs");
      if (!count) return unexpected(count.error());
      if (!body.skip(3, "RESERVED")) return unexpected(body.error("RESERVED", "truncated"));
      if (*count == 0) return unexpected(body.error("Number of TSs", "no traffic selector"));
      for (unsigned i = 0; i < *count; ++i) {
        auto ts_type = body.u8("TS Type");
        auto protocol = body.u8("IP Protocol ID");
        auto length = body.u16_be("Selector Length");
        if (!ts_type || !protocol || !length) return unexpected(body.error("traffic selector", "truncated"));
        std::size_t address_size = 0;
        if (*ts_type == static_cast<std::uint8_t>(TsType::Ipv4AddressRange)) address_size = 4;
        else if (*ts_type == static_cast<std::uint8_t>(TsType::Ipv6AddressRange)) address_size = 16;
        else return unexpected(body.error("TS Type", "unknown TS Type " + std::to_string(*ts_type)));
        if (*length != 8 + 2 * address_size) {
          return unexpected(body.error("Selector Length", "Selector Length " + std::to_string(*length) + ", expected " +
                                                              std::to_string(8 + 2 * address_size)));
        }
        TrafficSelector s;
        s.ip_protocol = *protocol;
        auto first = body.u16_be("Start Port");
        auto last = body.u16_be("End Port");
        if (!first || !last) return unexpected(body.error("ports", "truncated"));
        s.ports = {*first, *last};
        auto start = read_address(body, address_size, "Starting Address");
        if (!start) return unexpected(start.error());
        auto end = read_address(body, address_size, "Ending Address");
        if (!end) return unexpected(end.error());
        s.start = *start;
        s.end = *end;
        ts.selectors.push_back(s);
      }
      if (auto c = expect_consumed(body, "Number of TSs"); !c) return unexpected(c.error());
      return Payload{std::move(ts)};
    }
    case PayloadType::Encrypted: {
      EncryptedPayload sk;
      sk.body = copy(body.rest());
      return Payload{std::move(sk)};
    }
    default:
      if (critical) {
        return unexpected(body.error("Critical", "unsupported critical payload type " + std::to_string(type)));
      }
      return Payload{UnknownPayload{type, copy(body.rest())}};
  }
}

}  // namespace detail

namespace {

void write_address(ByteWriter& w, const IpAddress& a) {
  const std::size_t n = a.family() == IpFamily::V4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) w.u8(a.bytes()[i]);
}

}  // namespace

namespace detail {

void encode_body(ByteWriter& w, const Payload& payload) {
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, SaPayload>) {
          for (std::size_t i = 0; i < p.proposals.size(); ++i) {
            const auto& proposal = p.proposals[i];
            const std::size_t start = w.size();
            w.u8(i + 1 == p.proposals.size() ? 0 : 2);
            w.u8(0);
            w.u16_be(0);
            w.u8(proposal.number);
            w.u8(static_cast<std::uint8_t>(proposal.protocol));
            w.u8(static_cast<std::uint8_t>(proposal.spi.size()));
            w.u8(static_cast<std::uint8_t>(proposal.transforms.size()));
            w.bytes(proposal.spi);
            for (std::size_t j = 0; j < proposal.transforms.size(); ++j) {
              const auto& t = proposal.transforms[j];
              w.u8(j + 1 == proposal.transforms.size() ? 0 : 3);
              w.u8(0);
              w.u16_be(t.key_length ? 12 : 8);
              w.u8(static_cast<std::uint8_t>(t.type));
              w.u8(0);
              w.u16_be(t.id);
              if (t.key_length) {
                w.u16_be(kAttributeFormatTv | kKeyLengthAttribute);
                w.u16_be(*t.key_length);
              }
            }
            w.patch_u16_be(start + 2, static_cast<std::uint16_t>(w.size() - start));
          }
        } else if constexpr (std::is_same_v<T, KePayload>) {
          w.u16_be(p.group);
          w.u16_be(0);
          w.bytes(p.data);
        } else if constexpr (std::is_same_v<T, NoncePayload> || std::is_same_v<T, VendorIdPayload>) {
          w.bytes(p.data);
        } else if constexpr (std::is_same_v<T, IdPayload>) {
          w.bytes(p.body());
        } else if constexpr (std::is_same_v<T, AuthPayload>) {
          w.u8(static_cast<std::uint8_t>(p.method));
          w.zeros(3);
          w.bytes(p.data);
        } else if constexpr (std::is_same_v<T, CertPayload>) {
          w.u8(p.encoding);
          w.bytes(p.data);
        } else if constexpr (std::is_same_v<T, NotifyPayload>) {
          w.u8(p.protocol);
          w.u8(static_cast<std::uint8_t>(p.spi.size()));
          w.u16_be(p.type);
          w.bytes(p.spi);
          w.bytes(p.data);
        } else if constexpr (std::is_same_v<T, DeletePayload>) {
          w.u8(static_cast<std::uint8_t>(p.protocol));
          w.u8(p.spi_size);
          w.u16_be(static_cast<std::uint16_t>(p.spis.size()));
          for (const auto& spi : p.spis) w.bytes(spi);
        } else if constexpr (std::is_same_v<T, TsPayload>) {
          w.u8(static_cast<std::uint8_t>(p.selectors.size()));
          w.zeros(3);
          for (const auto& s : p.selectors) {
            const bool v4 = s.start.family() == IpFamily::V4;
            w.u8(static_cast<std::uint8_t>(v4 ? TsType::Ipv4AddressRange : TsType::Ipv6AddressRange));
            w.u8(s.ip_protocol);
            w.u16_be(v4 ? 16 : 40);
            w.u16_be(s.ports.first);
            w.u16_be(s.ports.last);
            write_address(w, s.start);
            write_address(w, s.end);
          }
        } else if constexpr (std::is_same_v<T, EncryptedPayload>) {
          w.bytes(p.body);
        } else {
          w.bytes(p.body);
        }
      },
      payload);
}

std::uint8_t raw_type_of(const Payload& payload) noexcept {
  if (const auto* u = std::get_if<UnknownPayload>(&payload)) return u->type;
  return static_cast<std::uint8_t>(type_of(payload));
}

std::uint8_t next_of(const Payload& payload) noexcept {
  // An SK payload's Next Payload names its first inner payload (3.14).
  if (const auto* sk = std::get_if<EncryptedPayload>(&payload)) return static_cast<std::uint8_t>(sk->first_inner);
  return 0;
}

}  // namespace detail

Bytes IdPayload::body() const {
  ByteWriter w;
  w.u8(static_cast<std::uint8_t>(type));
  w.zeros(3);
  w.bytes(data);
  return std::move(w).take();
}

TrafficSelector TrafficSelector::of(const IpPrefix& prefix, std::uint8_t protocol, PortRange ports) {
  TrafficSelector s;
  s.ip_protocol = protocol;
  s.ports = ports;
  s.start = prefix.address();
  auto bytes = prefix.address().bytes();
  const unsigned width = prefix.address().bit_width();
  for (unsigned bit = prefix.length(); bit < width; ++bit) bytes[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
  s.end = prefix.family() == IpFamily::V4
              ? IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) | bytes[3])
              : IpAddress::v6(bytes);
  return s;
}

bool TrafficSelector::contains(const TrafficSelector& other) const noexcept {
  if (start.family() != other.start.family()) return false;
  if (ip_protocol != 0 && ip_protocol != other.ip_protocol) return false;
  return ports.first <= other.ports.first && other.ports.last <= ports.last && start <= other.start && other.end <= end;
}

std::string TrafficSelector::to_string() const {
  return start.to_string() + "-" + end.to_string() + " proto " + std::to_string(ip_protocol) + " ports " +
         std::to_string(ports.first) + "-" + std::to_string(ports.last);
}

Bytes child_spi_bytes(std::uint32_t spi) {
  return {std::byte(spi >> 24), std::byte(spi >> 16), std::byte(spi >> 8), std::byte(spi)};
}

std::uint32_t child_spi_value(std::span<const std::byte> bytes) noexcept {
  std::uint32_t v = 0;
  for (auto x : bytes) v = (v << 8) | std::to_integer<std::uint32_t>(x);
  return v;
}

PayloadType type_of(const Payload& payload) noexcept {
  return std::visit(
      [](const auto& p) -> PayloadType {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, IdPayload>) return p.initiator ? PayloadType::IdInitiator : PayloadType::IdResponder;
        else if constexpr (std::is_same_v<T, CertPayload>) return p.request ? PayloadType::CertificateRequest : PayloadType::Certificate;
        else if constexpr (std::is_same_v<T, TsPayload>) return p.initiator ? PayloadType::TsInitiator : PayloadType::TsResponder;
        else if constexpr (std::is_same_v<T, EncryptedPayload>) return PayloadType::Encrypted;
        else if constexpr (std::is_same_v<T, UnknownPayload>) return static_cast<PayloadType>(p.type);
        else return T::kType;
      },
      payload);
}

}  // namespace ward::ike::v2
