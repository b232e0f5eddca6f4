// EspSa: RFC 4303 ESP for one SA and one direction, transport or tunnel mode, IPv4 or IPv6,
// optionally inside RFC 3948 UDP encapsulation, with optional 64-bit extended sequence numbers.
//
// The packet path: encapsulate() takes an IP packet and writes the protected packet;
// decapsulate() takes a received packet and writes the inner IP packet. Both write into a caller
// vector whose capacity is reused, return a DropReason on failure (and leave `out` empty), never
// throw for bad input and never read packet memory except through ByteReader.
//
// Thread safety: an EspSa is used by one thread at a time (it owns EVP contexts, the outbound
// sequence counter and the inbound replay window).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/byte_writer.h"
#include "common/expected.h"
#include "driver/crypto/drop_reason.h"
#include "driver/crypto/ip_packet.h"
#include "driver/crypto/replay_window.h"
#include "driver/crypto/sa_params.h"
#include "driver/crypto/transforms.h"

namespace ward::driver::crypto {

struct Decapsulated {
  std::uint64_t sequence = 0;   // the full (ESN-inferred) sequence number, authenticated
  std::uint8_t next_header = 0;  // from the ESP trailer / AH header
};

// A sequence number and IV chosen by a published test vector. Only test vectors may choose them:
// the packet path picks a fresh sequence number and IV itself.
struct FixedSequenceAndIv {
  std::uint64_t sequence = 0;
  std::span<const std::byte> iv;
};

class EspSa {
 public:
  // Refuses (with a message naming the SPI) legacy algorithms without allow_legacy, wrong key
  // sizes, GCM with a separate integrity algorithm, and encryption without integrity.
  static Expected<EspSa, std::string> create(const SaParams& params);

  Expected<void, DropReason> encapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out);
  Expected<Decapsulated, DropReason> decapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out,
                                                 InnerChecksum inner = InnerChecksum::Refresh);

  // The ESP layer alone (SPI .. ICV): appends the ESP packet carrying `payload` to `writer`.
  Expected<void, DropReason> seal(ByteWriter& writer, std::uint8_t next_header, std::span<const std::byte> payload,
                                  const FixedSequenceAndIv* fixed = nullptr);
  // Checks anti-replay, verifies the ICV, decrypts, checks the padding; appends the payload
  // (without trailer) to `writer`. The window moves only once the ICV verified.
  Expected<Decapsulated, DropReason> open(std::span<const std::byte> esp, ByteWriter& writer);

  // encapsulate() with the sequence number and IV of a published test vector.
  Expected<void, DropReason> encapsulate_test_vector(std::span<const std::byte> packet, std::vector<std::byte>& out,
                                                     const FixedSequenceAndIv& fixed);

  std::uint32_t spi() const noexcept { return spi_; }
  std::uint64_t last_sent_sequence() const noexcept { return last_sent_; }
  const ReplayWindow& replay_window() const noexcept { return replay_; }
  // Wire overhead added to a packet of `length` bytes (header, IV, padding, trailer, ICV, UDP,
  // outer IP header), for the driver's MTU arithmetic.
  std::size_t overhead(std::size_t length) const noexcept;

 private:
  EspSa(const SaParams& params, CipherTransform cipher, std::optional<IntegrityTransform> integrity,
        ReplayWindow replay);
  Expected<void, DropReason> encapsulate_impl(std::span<const std::byte> packet, std::vector<std::byte>& out,
                                              const FixedSequenceAndIv* fixed);
  std::size_t icv_length() const noexcept;
  std::size_t payload_alignment() const noexcept;

  std::uint32_t spi_;
  Direction direction_;
  Mode mode_;
  std::optional<TunnelEndpoints> tunnel_;
  std::optional<UdpEncapsulation> udp_;
  bool esn_;
  CipherTransform cipher_;
  std::optional<IntegrityTransform> integrity_;
  ReplayWindow replay_;
  std::uint64_t last_sent_ = 0;
  std::uint16_t ipv4_identification_ = 0;
};

}  // namespace ward::driver::crypto
