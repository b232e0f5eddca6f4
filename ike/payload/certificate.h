// Certificate (RFC 2408 3.9) and Certificate Request (RFC 2408 3.10) payloads:
//
// CERT: ! Cert Encoding (1) ! Certificate Data ...
// CR:   ! Cert. Type (1)    ! Certificate Authority ... (may be empty: any CA)
#pragma once

#include <cstdint>
#include <vector>

#include "ike/payload/payload_header.h"

namespace ward::ike {

struct Certificate {
  static constexpr PayloadType kType = PayloadType::Certificate;

  CertificateEncoding encoding = CertificateEncoding::X509Signature;
  std::vector<std::byte> data;   // DER for X.509 - Signature; never empty

  static Expected<Certificate, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;
  WARD_ISAKMP_PAYLOAD_CODEC(Certificate)

  friend bool operator==(const Certificate&, const Certificate&) = default;
};

struct CertificateRequest {
  static constexpr PayloadType kType = PayloadType::CertificateRequest;

  CertificateEncoding type = CertificateEncoding::X509Signature;
  std::vector<std::byte> authority;   // DER Name of an acceptable CA; empty = any

  static Expected<CertificateRequest, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;
  WARD_ISAKMP_PAYLOAD_CODEC(CertificateRequest)

  friend bool operator==(const CertificateRequest&, const CertificateRequest&) = default;
};

bool is_known_certificate_encoding(std::uint8_t value) noexcept;

}  // namespace ward::ike
