#include "ike/sa/quick_mode_lifetime.h"

#include <algorithm>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "ike/payload/data_attribute.h"

namespace ward::ike::sa {

AppliedLifetime responder_lifetime(const TransformAttributes& offered, std::chrono::seconds seconds,
                                   std::uint64_t kilobytes) noexcept {
  AppliedLifetime out;
  const auto proposed = offered.lifetime.value_or(kDefaultIpsecLifetime);
  out.seconds = std::min(proposed, seconds);
  if (seconds < proposed) out.tell_initiator = true;
  if (offered.kilobytes && kilobytes != 0) {
    out.kilobytes = std::min(*offered.kilobytes, kilobytes);
    if (kilobytes < *offered.kilobytes) out.tell_initiator = true;
  } else if (kilobytes != 0) {
    out.kilobytes = kilobytes;   // the initiator set no volume limit: ours is shorter
    out.tell_initiator = true;
  } else {
    out.kilobytes = offered.kilobytes.value_or(0);
  }
  return out;
}

std::vector<std::byte> lifetime_notification_data(std::chrono::seconds seconds, std::uint64_t kilobytes) {
  ByteWriter writer;
  auto pair = [&](LifeType type, std::uint64_t value) {
    DataAttribute::basic(static_cast<std::uint16_t>(IpsecAttribute::SaLifeType), static_cast<std::uint16_t>(type)).encode(writer);
    DataAttribute::integer_value(static_cast<std::uint16_t>(IpsecAttribute::SaLifeDuration), value).encode(writer);
  };
  pair(LifeType::Seconds, static_cast<std::uint64_t>(seconds.count()));
  if (kilobytes != 0) pair(LifeType::Kilobytes, kilobytes);
  return writer.data();
}

Expected<TransformAttributes, std::string> parse_lifetime_notification_data(std::span<const std::byte> data) {
  TransformAttributes out;
  ByteReader reader(data, "RESPONDER-LIFETIME data");
  std::optional<std::uint64_t> life_type;
  while (!reader.empty()) {
    const auto offset = data.size() - reader.remaining();
    auto attribute = DataAttribute::parse(reader);
    if (!attribute) return unexpected(attribute.error().to_string());
    const auto value = attribute->integer();
    if (!value) return unexpected("RESPONDER-LIFETIME data: attribute at byte " + std::to_string(offset) + " is not a number");
    if (attribute->type == static_cast<std::uint16_t>(IpsecAttribute::SaLifeType)) {
      life_type = *value;
    } else if (attribute->type == static_cast<std::uint16_t>(IpsecAttribute::SaLifeDuration)) {
      if (life_type == static_cast<std::uint64_t>(LifeType::Seconds)) out.lifetime = std::chrono::seconds(*value);
      else if (life_type == static_cast<std::uint64_t>(LifeType::Kilobytes)) out.kilobytes = *value;
      else return unexpected("RESPONDER-LIFETIME data: SA Life Duration at byte " + std::to_string(offset) + " without a Life Type");
    }
    // Other attributes are not lifetimes: RFC 2407 4.6.3.1 allows only these; ignore the rest.
  }
  if (!out.lifetime && !out.kilobytes) return unexpected(std::string("RESPONDER-LIFETIME data: no lifetime"));
  return out;
}

}  // namespace ward::ike::sa
