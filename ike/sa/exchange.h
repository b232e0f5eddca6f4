// What main mode and quick mode share: the injected clock, the log sink, retransmission as data,
// the encryption boundary (seal / open a message with the phase 1 cipher and the running CBC IV),
// and raw payload bytes for the hashes (RFC 2409 hashes cover payloads as they were on the wire).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ike/crypto/cbc.h"
#include "ike/message/message.h"

namespace ward::ike::sa {

using Clock = std::function<std::chrono::steady_clock::time_point()>;
using TimePoint = std::chrono::steady_clock::time_point;
// Receives one line per event. Ward logs states, reasons and numbers, never key material.
using LogSink = std::function<void(const std::string&)>;

// Retransmission (RFC 2408 has none; RFC 2409 leaves it to implementations): the first resend
// after `first_interval`, each later one `factor` times longer, at most `max_sends` sends in all.
struct RetransmitPolicy {
  std::chrono::milliseconds first_interval{1000};
  unsigned factor = 2;
  unsigned max_sends = 5;
};

// The last message sent and when to send it again. The owner calls tick() when its timer queue
// says due() has come (tests advance an injected clock; nothing sleeps).
class Retransmitter {
 public:
  enum class Tick : std::uint8_t { Nothing, Resend, GiveUp };

  explicit Retransmitter(RetransmitPolicy policy = {}) : policy_(policy) {}
  // Records a new message; `expect_answer` arms the timer.
  void sent(std::vector<std::byte> message, TimePoint now, bool expect_answer);
  void answered() noexcept { armed_ = false; }
  Tick tick(TimePoint now);

  const std::vector<std::byte>& last() const noexcept { return last_; }
  std::optional<TimePoint> due() const noexcept { return armed_ ? std::optional(due_) : std::nullopt; }
  unsigned sends() const noexcept { return sends_; }

 private:
  RetransmitPolicy policy_;
  std::vector<std::byte> last_;
  TimePoint due_{};
  std::chrono::milliseconds interval_{0};
  unsigned sends_ = 0;
  bool armed_ = false;
};

// The whole payloads (generic header included) of a chain that already parsed, in wire order;
// `padding` bytes at the end are left out.
std::vector<std::span<const std::byte>> raw_payloads(std::span<const std::byte> chain, std::size_t padding = 0);
// A payload's body: the bytes after its 4-byte generic header.
std::span<const std::byte> payload_body(std::span<const std::byte> payload);

struct CipherState {
  crypto::Phase1Cipher cipher;
  const driver::crypto::SecureBytes* key = nullptr;
  std::vector<std::byte> iv;
};

// Encodes, pads, encrypts (the IV moves to the last ciphertext block) and frames a message.
Expected<std::vector<std::byte>, std::string> seal(const IsakmpHeader& header, std::span<const Payload> payloads,
                                                   CipherState& state);

struct Opened {
  ParsedMessage message;
  std::vector<std::byte> plaintext;
};
// Decrypts and parses an E-flag message; the IV advances only when the result parses.
Expected<Opened, std::string> open(const Datagram& datagram, MessageKind kind, CipherState& state);

std::string hex_cookie(const Cookie& cookie);

}  // namespace ward::ike::sa
