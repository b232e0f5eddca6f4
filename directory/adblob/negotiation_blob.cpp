#include "directory/adblob/negotiation_blob.h"

#include "directory/adblob/blob_framing.h"

namespace ward::adblob {

namespace {

Expected<NegotiationOffer, ParseError> read_offer(ByteReader& reader) {
  NegotiationOffer offer;
  ADBLOB_READ(offer.lifetime_seconds, reader.u32_le("Lifetime-Seconds"));
  ADBLOB_READ(offer.lifetime_kilobytes, reader.u32_le("Lifetime-KBytes"));
  ADBLOB_READ(offer.negotiation_options, reader.u32_le("Negotiation-Options"));
  ADBLOB_READ(offer.pfs_qm_required, reader.u32_le("PFS-QM-Required"));
  ADBLOB_READ(offer.algorithm_count, reader.u32_le("Algorithm-Offer-Count"));
  if (offer.algorithm_count > NegotiationOffer::kMaxAlgorithms) {
    return unexpected(reader.error("Algorithm-Offer-Count", "is " + std::to_string(offer.algorithm_count) +
                                                                ", at most 3 allowed"));
  }
  for (auto& slot : offer.algorithms) {
    ADBLOB_READ(slot.algorithm, reader.u32_le("Algorithm-Identifier"));
    ADBLOB_READ(slot.integrity, reader.u32_le("ESP-Integrity-Identifier"));
    ADBLOB_READ(slot.offer_type, reader.u32_le("Offer-Type"));
    ADBLOB_READ(slot.zero1_low, reader.u32_le("Zero1"));
    ADBLOB_READ(slot.zero1_high, reader.u32_le("Zero1"));
  }
  return offer;
}

}  // namespace

Expected<NegotiationBlob, ParseError> decode_negotiation_blob(std::span<const std::byte> data) noexcept {
  ByteReader reader(data, "ipsecNegotiationPolicy blob");
  NegotiationBlob blob;
  std::uint32_t data_length = 0;
  ADBLOB_READ(data_length, read_blob_header(reader, blob_type::kNegotiation));
  const std::size_t length_at = reader.offset() - 4;
  std::uint32_t count = 0;
  ADBLOB_READ(count, reader.u32_le("Security-Offer-Count"));
  if (count > reader.remaining() / NegotiationOffer::kSize) {
    return unexpected(reader.error("Security-Offer-Count", std::to_string(count) + " offers need " +
                                                               std::to_string(std::uint64_t{count} * NegotiationOffer::kSize) +
                                                               " bytes, only " + std::to_string(reader.remaining()) + " left"));
  }
  blob.offers.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    NegotiationOffer offer;
    ADBLOB_READ(offer, read_offer(reader));
    blob.offers.push_back(offer);
  }
  blob.data_length_as_found = keep_if_unusual(data_length, canonical_length(length_at, reader.offset()));
  blob.trailer = copy_bytes(reader.rest());
  return blob;
}

std::vector<std::byte> encode_negotiation_blob(const NegotiationBlob& blob) {
  ByteWriter writer;
  const std::size_t length_at = begin_blob(writer, blob_type::kNegotiation);
  writer.u32_le(static_cast<std::uint32_t>(blob.offers.size()));
  for (const auto& offer : blob.offers) {
    writer.u32_le(offer.lifetime_seconds);
    writer.u32_le(offer.lifetime_kilobytes);
    writer.u32_le(offer.negotiation_options);
    writer.u32_le(offer.pfs_qm_required);
    writer.u32_le(offer.algorithm_count);
    for (const auto& slot : offer.algorithms) {
      writer.u32_le(slot.algorithm);
      writer.u32_le(slot.integrity);
      writer.u32_le(slot.offer_type);
      writer.u32_le(slot.zero1_low);
      writer.u32_le(slot.zero1_high);
    }
  }
  finish_data_length(writer, length_at, blob.data_length_as_found);
  writer.bytes(blob.trailer);
  return std::move(writer).take();
}

}  // namespace ward::adblob
