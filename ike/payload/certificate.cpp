#include "ike/payload/certificate.h"

#include <string>
#include <utility>

namespace ward::ike {

bool is_known_certificate_encoding(std::uint8_t value) noexcept {
  return value <= static_cast<std::uint8_t>(CertificateEncoding::X509Attribute);
}

namespace {

Expected<CertificateEncoding, ParseError> read_encoding(ByteReader& body, std::string_view field,
                                                        bool allow_none) {
  const std::size_t at = body.offset();
  auto value = body.u8(field);
  if (!value) return unexpected(std::move(value).error());
  if (!is_known_certificate_encoding(*value) || (!allow_none && *value == 0)) {
    return unexpected(ParseError{body.structure(), std::string(field), at,
                                 std::string(field) + " " + std::to_string(*value) +
                                     (allow_none ? " unknown (0..10 expected)" : " unknown (1..10 expected)")});
  }
  return static_cast<CertificateEncoding>(*value);
}

}  // namespace

Expected<Certificate, ParseError> Certificate::parse_body(ByteReader& body) {
  auto encoding = read_encoding(body, "Cert Encoding", false);
  if (!encoding) return unexpected(std::move(encoding).error());
  if (body.empty()) return unexpected(body.error("Certificate Data", "certificate data is empty"));
  const auto rest = body.rest();
  return Certificate{*encoding, std::vector<std::byte>(rest.begin(), rest.end())};
}

void Certificate::encode_body(ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(encoding));
  writer.bytes(data);
}

Expected<CertificateRequest, ParseError> CertificateRequest::parse_body(ByteReader& body) {
  auto type = read_encoding(body, "Cert. Type", true);
  if (!type) return unexpected(std::move(type).error());
  const auto rest = body.rest();
  return CertificateRequest{*type, std::vector<std::byte>(rest.begin(), rest.end())};
}

void CertificateRequest::encode_body(ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(type));
  writer.bytes(authority);
}

}  // namespace ward::ike
