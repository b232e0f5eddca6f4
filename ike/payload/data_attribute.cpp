#include "ike/payload/data_attribute.h"

#include <string>
#include <utility>

namespace ward::ike {

std::optional<std::uint64_t> DataAttribute::integer() const noexcept {
  if (const auto* basic_value = std::get_if<std::uint16_t>(&value)) return *basic_value;
  const auto& bytes = std::get<std::vector<std::byte>>(value);
  if (bytes.empty() || bytes.size() > sizeof(std::uint64_t)) return std::nullopt;
  std::uint64_t out = 0;
  for (std::byte b : bytes) out = (out << 8) | std::to_integer<std::uint64_t>(b);
  return out;
}

DataAttribute DataAttribute::basic(std::uint16_t type, std::uint16_t value) {
  return DataAttribute{static_cast<std::uint16_t>(type & kAttributeTypeMask), value};
}

DataAttribute DataAttribute::variable(std::uint16_t type, std::vector<std::byte> value) {
  return DataAttribute{static_cast<std::uint16_t>(type & kAttributeTypeMask), std::move(value)};
}

DataAttribute DataAttribute::integer_value(std::uint16_t type, std::uint64_t value) {
  if (value <= 0xffff) return basic(type, static_cast<std::uint16_t>(value));
  const std::size_t size = value <= 0xffffffffu ? 4 : 8;
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) {
    bytes[size - 1 - i] = std::byte{static_cast<std::uint8_t>(value >> (8 * i))};
  }
  return variable(type, std::move(bytes));
}

Expected<DataAttribute, ParseError> DataAttribute::parse(ByteReader& reader) {
  auto af_type = reader.u16_be("Attribute Type");
  if (!af_type) return unexpected(std::move(af_type).error());
  const auto type = static_cast<std::uint16_t>(*af_type & kAttributeTypeMask);
  if ((*af_type & kAttributeFormatTv) != 0) {
    auto value = reader.u16_be("Attribute Value");
    if (!value) return unexpected(std::move(value).error());
    return basic(type, *value);
  }
  auto length = reader.u16_be("Attribute Length");
  if (!length) return unexpected(std::move(length).error());
  if (*length > reader.remaining()) {
    return unexpected(reader.error("Attribute Value",
                                   "attribute " + std::to_string(type) + " length " +
                                       std::to_string(*length) + " declared, only " +
                                       std::to_string(reader.remaining()) + " bytes left"));
  }
  auto bytes = reader.bytes(*length, "Attribute Value");
  if (!bytes) return unexpected(std::move(bytes).error());
  return variable(type, std::vector<std::byte>(bytes->begin(), bytes->end()));
}

void DataAttribute::encode(ByteWriter& writer) const {
  if (const auto* basic_value = std::get_if<std::uint16_t>(&value)) {
    writer.u16_be(static_cast<std::uint16_t>(kAttributeFormatTv | type));
    writer.u16_be(*basic_value);
    return;
  }
  const auto& bytes = std::get<std::vector<std::byte>>(value);
  writer.u16_be(type);
  writer.u16_be(static_cast<std::uint16_t>(bytes.size()));
  writer.bytes(bytes);
}

bool attribute_is_basic_only(AttributeClasses classes, std::uint16_t type) noexcept {
  if (classes == AttributeClasses::Phase1) {
    switch (static_cast<IkeAttribute>(type)) {
      case IkeAttribute::EncryptionAlgorithm:
      case IkeAttribute::HashAlgorithm:
      case IkeAttribute::AuthenticationMethod:
      case IkeAttribute::GroupDescription:
      case IkeAttribute::GroupType:
      case IkeAttribute::LifeType:
      case IkeAttribute::Prf:
      case IkeAttribute::KeyLength:
      case IkeAttribute::FieldSize:
        return true;
      case IkeAttribute::GroupPrime:
      case IkeAttribute::GroupGeneratorOne:
      case IkeAttribute::GroupGeneratorTwo:
      case IkeAttribute::GroupCurveA:
      case IkeAttribute::GroupCurveB:
      case IkeAttribute::LifeDuration:
      case IkeAttribute::GroupOrder:
      case IkeAttribute::GssId:
      case IkeAttribute::GssIdWindows2000:
        return false;
    }
    return false;
  }
  switch (static_cast<IpsecAttribute>(type)) {
    case IpsecAttribute::SaLifeType:
    case IpsecAttribute::GroupDescription:
    case IpsecAttribute::EncapsulationMode:
    case IpsecAttribute::AuthenticationAlgorithm:
    case IpsecAttribute::KeyLength:
    case IpsecAttribute::KeyRounds:
    case IpsecAttribute::CompressDictionarySize:
    case IpsecAttribute::EcnTunnel:
      return true;
    case IpsecAttribute::SaLifeDuration:
    case IpsecAttribute::CompressPrivateAlgorithm:
      return false;
  }
  return false;
}

}  // namespace ward::ike
