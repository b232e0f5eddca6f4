#include "ike/service/informational.h"

#include <algorithm>
#include <climits>
#include <array>
#include <bit>

#include "ike/crypto/keys.h"

namespace ward::ike::service {
namespace {

constexpr std::size_t kV4Size = 4;
constexpr std::size_t kV6Size = 16;
sa::CipherState cipher_for(const sa::Phase1Sa& phase1, std::uint32_t message_id) {
  return sa::CipherState{phase1.cipher(), &phase1.keys().encryption_key,
                         crypto::quick_mode_iv(phase1.keys().hash, phase1.last_iv(), message_id,
                                               phase1.cipher().block_size())};
}

std::vector<std::byte> be32_bytes(std::uint32_t v) {
  return {std::byte(v >> 24), std::byte(v >> 16), std::byte(v >> 8), std::byte(v)};
}

Expected<IpAddress, std::string> address_of(std::span<const std::byte> raw) {
  if (raw.size() == kV4Size) {
    std::uint32_t v = 0;
    for (const auto b : raw) v = v << CHAR_BIT | static_cast<std::uint32_t>(b);
    return IpAddress::v4(v);
  }
  if (raw.size() == kV6Size) {
    std::array<std::uint8_t, kV6Size> bytes{};
    std::transform(raw.begin(), raw.end(), bytes.begin(), [](std::byte b) { return static_cast<std::uint8_t>(b); });
    return IpAddress::v6(bytes);
  }
  return unexpected("an address of " + std::to_string(raw.size()) + " bytes");
}

}  // namespace

Expected<std::vector<std::byte>, std::string> build_informational(const sa::Phase1Sa& phase1, std::vector<Payload> payloads) {
  if (!phase1.keys_shared()) return unexpected(std::string("informational: main mode has no keys in common with the peer yet"));
  std::uint32_t message_id = 0;
  while (message_id == 0) {
    auto raw = crypto::random_bytes(sizeof message_id);
    if (!raw) return unexpected(std::move(raw).error());
    for (const auto b : *raw) message_id = message_id << CHAR_BIT | static_cast<std::uint32_t>(b);
  }
  auto body = encode_payload_chain(payloads);
  if (!body) return unexpected("encoding informational: " + body.error().message);
  const auto& keys = phase1.keys();
  const auto digest = crypto::quick_mode_hash_1(keys.hash, keys.skeyid_a, message_id, body->bytes);
  std::vector<Payload> all{Hash{{digest.reveal().begin(), digest.reveal().end()}}};
  for (auto& p : payloads) all.push_back(std::move(p));
  IsakmpHeader h;
  h.initiator_cookie = phase1.initiator_cookie();
  h.responder_cookie = phase1.responder_cookie();
  h.exchange_type = ExchangeType::Informational;
  h.message_id = message_id;
  h.set(HeaderFlag::Encryption, true);
  auto state = cipher_for(phase1, message_id);
  return sa::seal(h, all, state);
}

Expected<ParsedMessage, std::string> open_informational(const sa::Phase1Sa& phase1, std::span<const std::byte> datagram) {
  if (!phase1.keys_shared()) return unexpected(std::string("informational: main mode has no keys in common with the peer yet"));
  auto split = split_datagram(datagram);
  if (!split) return unexpected(split.error().to_string());
  auto state = cipher_for(phase1, split->header.message_id);
  auto opened = sa::open(*split, MessageKind::InformationalProtected, state);
  if (!opened) return unexpected("informational does not decrypt: " + opened.error());
  const auto raw = sa::raw_payloads(opened->plaintext, opened->message.padding);
  const auto* received = std::get_if<Hash>(&opened->message.payloads.front());
  if (raw.empty() || received == nullptr) return unexpected(std::string("informational: HASH(1) is not the first payload"));
  const std::size_t first = raw[0].size();
  const std::size_t end = opened->plaintext.size() - opened->message.padding;
  const auto after = std::span<const std::byte>(opened->plaintext).subspan(first, end - first);
  const auto& keys = phase1.keys();
  const auto digest = crypto::quick_mode_hash_1(keys.hash, keys.skeyid_a, split->header.message_id, after);
  if (!crypto::equal_constant_time(digest.reveal(), received->data)) {
    return unexpected(std::string("informational: HASH(1) mismatch"));
  }
  return std::move(opened->message);
}

std::vector<Payload> ipsec_deletes(const sa::ProtectionSuite& suite, std::uint32_t spi, std::uint32_t bundled_ah_spi) {
  std::vector<Payload> out;
  out.emplace_back(ipsec_delete(suite.esp ? ProtocolId::IpsecEsp : ProtocolId::IpsecAh, std::span(&spi, 1)));
  if (suite.bundle()) out.emplace_back(ipsec_delete(ProtocolId::IpsecAh, std::span(&bundled_ah_spi, 1)));
  return out;
}

Delete ipsec_delete(ProtocolId protocol, std::span<const std::uint32_t> spis) {
  Delete d;
  d.doi = Doi::Ipsec;
  d.protocol = protocol;
  d.spi_size = kIpsecSpiSize;
  for (const auto spi : spis) d.spis.push_back(be32_bytes(spi));
  return d;
}

Delete isakmp_delete(const Cookie& initiator, const Cookie& responder) {
  Delete d;
  d.doi = Doi::Ipsec;
  d.protocol = ProtocolId::Isakmp;
  d.spi_size = kIsakmpSpiSize;
  std::vector<std::byte> pair(initiator.begin(), initiator.end());
  pair.insert(pair.end(), responder.begin(), responder.end());
  d.spis.push_back(std::move(pair));
  return d;
}

Expected<sa::TrafficSelector, std::string> selector_of(const Identification& id) {
  const std::span<const std::byte> data(id.data);
  std::optional<IpPrefix> prefix;
  switch (id.type) {
    case IdType::Ipv4Addr:
    case IdType::Ipv6Addr: {
      auto address = address_of(data);
      if (!address) return unexpected("quick mode ID: " + address.error());
      prefix = IpPrefix::host(*address);
      break;
    }
    case IdType::Ipv4AddrSubnet:
    case IdType::Ipv6AddrSubnet: {
      const std::size_t half = data.size() / 2;
      if (half != kV4Size && half != kV6Size) {
        return unexpected("quick mode ID: a subnet of " + std::to_string(data.size()) + " bytes");
      }
      auto address = address_of(data.first(half));
      if (!address) return unexpected("quick mode ID: " + address.error());
      unsigned length = 0;
      bool ended = false;
      for (const auto b : data.subspan(half)) {
        const auto byte = static_cast<std::uint8_t>(b);
        const auto ones = static_cast<unsigned>(std::countl_one(byte));
        if (ended && byte != 0) return unexpected(std::string("quick mode ID: the subnet mask is not contiguous"));
        if (ones != CHAR_BIT) {
          if (static_cast<std::uint8_t>(byte << ones) != 0) {
            return unexpected(std::string("quick mode ID: the subnet mask is not contiguous"));
          }
          ended = true;
        }
        length += ones;
      }
      prefix = IpPrefix::make(*address, length);
      if (!prefix) return unexpected("quick mode ID: " + address->to_string() + "/" + std::to_string(length) + " has host bits set");
      break;
    }
    default: return unexpected("quick mode ID type " + std::string(name(id.type)) + " is not supported");
  }
  return sa::TrafficSelector{*prefix, id.protocol, id.port};
}

Expected<QuickModeIds, std::string> peek_quick_mode_ids(const sa::Phase1Sa& phase1, std::span<const std::byte> datagram) {
  if (!phase1.established()) return unexpected(std::string("quick mode 1: main mode is not established"));
  auto split = split_datagram(datagram);
  if (!split) return unexpected(split.error().to_string());
  auto state = cipher_for(phase1, split->header.message_id);
  auto opened = sa::open(*split, MessageKind::QuickModeMessage1, state);
  if (!opened) return unexpected("quick mode 1 does not decrypt: " + opened.error());
  const auto ids = opened->message.all<Identification>();
  if (ids.size() != 2) return unexpected(std::string("INVALID-ID-INFORMATION: quick mode without IDci/IDcr is not supported"));
  auto ci = selector_of(*ids[0]);
  if (!ci) return unexpected(std::move(ci).error());
  auto cr = selector_of(*ids[1]);
  if (!cr) return unexpected(std::move(cr).error());
  return QuickModeIds{*ci, *cr};
}

}  // namespace ward::ike::service
