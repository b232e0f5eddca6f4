#include "ike/v2/fragments.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace ward::ike::v2 {
namespace {

constexpr char kStructure[] = "IKEv2 SKF payload";

std::size_t ip_header_size(IpFamily family) noexcept { return family == IpFamily::V4 ? 20 : 40; }

MessageError fragment_error(std::size_t offset, std::string field, std::string message) {
  return MessageError{NotifyType::InvalidSyntax, ParseError{kStructure, std::move(field), offset, std::move(message)}};
}

void cleanse(Bytes& b) {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

}  // namespace

std::size_t default_fragment_size(IpFamily family) noexcept { return family == IpFamily::V4 ? 576 : 1280; }

std::size_t datagram_size(std::size_t message_size, IpFamily family) noexcept {
  return ip_header_size(family) + kUdpHeaderSize + kNonEspMarkerSize + message_size;
}

std::size_t fragment_content_size(const SkSuite& suite, std::size_t fragment_size, IpFamily family) noexcept {
  const std::size_t overhead = datagram_size(kHeaderSize + kFragmentPayloadHeaderSize, family) + suite.iv_size() + suite.icv_size();
  if (fragment_size <= overhead + 1) return 0;
  std::size_t cipher = fragment_size - overhead;
  cipher -= cipher % suite.block_size();
  return cipher == 0 ? 0 : cipher - 1;   // the Pad Length octet
}

bool is_fragment(std::span<const std::byte> datagram) noexcept {
  return datagram.size() > 16 && datagram[16] == std::byte{static_cast<std::uint8_t>(PayloadType::EncryptedFragment)};
}

Expected<std::vector<Bytes>, std::string> fragment_message(const IkeSa& sa, std::span<const std::byte> sealed,
                                                           std::size_t fragment_size, IpFamily family) {
  if (datagram_size(sealed.size(), family) <= fragment_size) return std::vector<Bytes>{Bytes(sealed.begin(), sealed.end())};
  auto m = parse_message(sealed);
  if (!m) return unexpected("fragmenting our own message: " + m.error().to_string());
  const auto* sk = m->find<EncryptedPayload>();
  if (sk == nullptr || m->payloads.size() != 1) return unexpected(std::string("fragmenting a message without an SK payload alone"));
  const SkSuite suite = sa.proposal.suite();
  auto inner = open_body(suite, sa.outbound_keys(), sealed, sk->offset + kGenericPayloadHeaderSize, "IKEv2 SK payload");
  if (!inner) return unexpected("fragmenting our own message: " + inner.error().to_string());
  const std::size_t content = fragment_content_size(suite, fragment_size, family);
  if (content == 0) {
    cleanse(*inner);
    return unexpected("fragment size " + std::to_string(fragment_size) + " leaves no room for an SKF payload");
  }
  const std::size_t total = std::max<std::size_t>(1, (inner->size() + content - 1) / content);
  if (total > 0xffff) {
    cleanse(*inner);
    return unexpected(std::to_string(total) + " fragments");
  }
  std::vector<Bytes> out;
  out.reserve(total);
  for (std::size_t i = 0; i < total; ++i) {
    const auto part = std::span<const std::byte>(*inner).subspan(i * content, std::min(content, inner->size() - i * content));
    const std::size_t skf_length = kFragmentPayloadHeaderSize + sealed_body_size(suite, part.size());
    Header h = m->header;
    h.next_payload = PayloadType::EncryptedFragment;
    h.length = static_cast<std::uint32_t>(kHeaderSize + skf_length);
    ByteWriter w;
    h.encode(w);
    w.u8(i == 0 ? static_cast<std::uint8_t>(sk->first_inner) : 0);
    w.u8(0);
    w.u16_be(static_cast<std::uint16_t>(skf_length));
    w.u16_be(static_cast<std::uint16_t>(i + 1));
    w.u16_be(static_cast<std::uint16_t>(total));
    if (auto sealed_part = seal_body(suite, sa.outbound_keys(), w, part); !sealed_part) {
      cleanse(*inner);
      return unexpected(sealed_part.error());
    }
    out.push_back(std::move(w).take());
  }
  cleanse(*inner);
  return out;
}

Expected<FragmentFields, MessageError> parse_fragment(std::span<const std::byte> datagram) {
  ByteReader reader(datagram, "IKEv2 header");
  auto header = Header::parse(reader, datagram.size());
  if (!header) return unexpected(MessageError{NotifyType::InvalidSyntax, std::move(header).error()});
  if (header->next_payload != PayloadType::EncryptedFragment) {
    return unexpected(fragment_error(16, "Next Payload", "the first payload is not SKF"));
  }
  if (header->exchange == ExchangeType::IkeSaInit) {
    return unexpected(fragment_error(18, "Exchange Type", "IKE_SA_INIT is never fragmented"));
  }
  ByteReader body(datagram.subspan(kHeaderSize), kStructure, kHeaderSize);
  auto next = body.u8("Next Payload");
  auto flags = body.u8("Critical/RESERVED");
  auto length = body.u16_be("Payload Length");
  auto number = body.u16_be("Fragment Number");
  auto total = body.u16_be("Total Fragments");
  if (!next || !flags || !length || !number || !total) {
    return unexpected(fragment_error(kHeaderSize, "Fragment header",
                                     "needs 8 bytes, only " + std::to_string(datagram.size() - kHeaderSize) + " left"));
  }
  if (*length != datagram.size() - kHeaderSize) {
    return unexpected(fragment_error(kHeaderSize + 2, "Payload Length",
                                     "Payload Length " + std::to_string(*length) + " but the SKF payload has " +
                                         std::to_string(datagram.size() - kHeaderSize) + " bytes (it must end the message)"));
  }
  if (*number == 0) return unexpected(fragment_error(kHeaderSize + 4, "Fragment Number", "zero"));
  if (*total == 0) return unexpected(fragment_error(kHeaderSize + 6, "Total Fragments", "zero"));
  if (*number > *total) {
    return unexpected(fragment_error(kHeaderSize + 4, "Fragment Number",
                                     "fragment " + std::to_string(*number) + " of " + std::to_string(*total)));
  }
  FragmentFields f;
  f.header = *header;
  f.first_inner = static_cast<PayloadType>(*next);
  f.number = *number;
  f.total = *total;
  f.body_offset = kHeaderSize + kFragmentPayloadHeaderSize;
  return f;
}

std::size_t Reassembler::held() const noexcept {
  std::size_t n = 0;
  for (const auto& p : pending_) {
    if (!p) continue;
    n += static_cast<std::size_t>(std::count_if(p->parts.begin(), p->parts.end(), [](const auto& part) { return part.has_value(); }));
  }
  return n;
}

Reassembler::Result Reassembler::add(const IkeSa& sa, std::span<const std::byte> datagram, Clock::time_point now) {
  auto fields = parse_fragment(datagram);
  if (!fields) return drop(fields.error().to_string());
  const Header& h = fields->header;
  if (h.initiator_spi != sa.spi_i || h.responder_spi != sa.spi_r) return drop("not a fragment of IKE SA " + sa.spis());
  if (h.has(HeaderFlag::Initiator) == sa.initiator) {
    return drop("IKE SA " + sa.spis() + ": the fragment's I flag does not name the peer's role");
  }
  const std::string where = "IKE SA " + sa.spis() + " message " + std::to_string(h.message_id) + " fragment " +
                            std::to_string(fields->number) + "/" + std::to_string(fields->total);
  if (fields->total > limits_.max_fragments) {
    return drop(where + ": " + ParseError{kStructure, "Total Fragments", kHeaderSize + 6,
                                          "more than " + std::to_string(limits_.max_fragments) + " fragments"}
                                   .to_string());
  }
  // Authenticated before anything about it is believed or kept (2.6).
  auto part = open_body(sa.proposal.suite(), sa.inbound_keys(), datagram, fields->body_offset, kStructure);
  if (!part) return drop(where + ": " + part.error().to_string());

  const bool response = h.has(HeaderFlag::Response);
  auto& pending = pending_[response ? 1 : 0];
  auto& completed = completed_[response ? 1 : 0];
  if (pending && now - pending->started > limits_.timeout) pending.reset();
  if (completed && completed->message_id == h.message_id && (!pending || pending->message_id != h.message_id)) {
    cleanse(*part);
    if (fields->number == 1 && !response) return Result{Outcome::Repeated, completed->message, {}};
    return Result{Outcome::Duplicate, {}, where + ": the message was reassembled already"};
  }
  if (pending && (pending->message_id != h.message_id || fields->total > pending->total)) pending.reset();
  if (pending && fields->total < pending->total) {
    cleanse(*part);
    return drop(where + ": " + ParseError{kStructure, "Total Fragments", kHeaderSize + 6,
                                          std::to_string(fields->total) + " but earlier fragments said " +
                                              std::to_string(pending->total)}
                                   .to_string());
  }
  if (!pending) {
    pending.emplace();
    pending->message_id = h.message_id;
    pending->response = response;
    pending->total = fields->total;
    pending->parts.resize(fields->total);
    pending->started = now;
  }
  auto& slot = pending->parts[fields->number - 1];
  if (slot) {
    cleanse(*part);
    return Result{Outcome::Duplicate, {}, where + ": a duplicate"};
  }
  if (pending->bytes + part->size() > limits_.max_bytes) {
    cleanse(*part);
    for (auto& p : pending->parts)
      if (p) cleanse(*p);
    pending.reset();
    return drop(where + ": the message would exceed " + std::to_string(limits_.max_bytes) + " bytes; its fragments are dropped");
  }
  pending->bytes += part->size();
  if (fields->number == 1) {
    pending->header = h;
    pending->first_inner = fields->first_inner;
  }
  slot = std::move(*part);
  if (!std::all_of(pending->parts.begin(), pending->parts.end(), [](const auto& p) { return p.has_value(); })) {
    return Result{Outcome::Kept, {}, {}};
  }
  Bytes chain;
  chain.reserve(pending->bytes);
  for (auto& p : pending->parts) {
    chain.insert(chain.end(), p->begin(), p->end());
    cleanse(*p);
  }
  const Header header = pending->header;
  const PayloadType first = pending->first_inner;
  pending.reset();
  auto whole = seal_chain(sa.proposal.suite(), sa.inbound_keys(), header, first, chain);
  cleanse(chain);
  if (!whole) return drop(where + ": reassembled, but " + whole.error());
  completed = Completed{header.message_id, response, *whole};
  return Result{Outcome::Complete, std::move(*whole), {}};
}

}  // namespace ward::ike::v2
