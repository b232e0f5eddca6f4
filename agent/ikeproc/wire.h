// The bodies of the messages between wardd and its IKE process (agent/privsep Channel), written
// and read field by field in host order (both ends are the same binary). A Decoder never reads
// past its body: a short or inconsistent body sets a sticky error naming the field and the byte
// offset, and every decode_* returns it. The parent decodes what a possibly compromised child
// sends: counts are bounded before anything is allocated for them, enums are range-checked.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/api/dataplane.h"
#include "ike/service/ike_service.h"

namespace ward::agent::ikeproc {

using ike::IkeAuthenticationMethod;
using ike::IkeEncryptionAlgorithm;
using ike::IkeGroupDescription;
using ike::IkeHashAlgorithm;

class Encoder {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { raw(&v, sizeof v); }
  void u32(std::uint32_t v) { raw(&v, sizeof v); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void bytes(std::span<const std::byte> b) {
    u32(static_cast<std::uint32_t>(b.size()));
    raw(b.data(), b.size());
  }
  void text(std::string_view s) { bytes(std::as_bytes(std::span(s.data(), s.size()))); }
  template <class E>
  void enumeration(E e) {
    u64(static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(e)));
  }
  void raw(const void* p, std::size_t n) {
    if (n == 0) return;
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  const std::vector<std::uint8_t>& body() const noexcept { return out_; }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

class Decoder {
 public:
  Decoder(std::span<const std::uint8_t> body, std::string what) : in_(body), what_(std::move(what)) {}

  std::uint8_t u8(const char* field) { return fixed<std::uint8_t>(field); }
  std::uint16_t u16(const char* field) { return fixed<std::uint16_t>(field); }
  std::uint32_t u32(const char* field) { return fixed<std::uint32_t>(field); }
  std::uint64_t u64(const char* field) { return fixed<std::uint64_t>(field); }
  bool boolean(const char* field);
  std::vector<std::byte> bytes(const char* field);
  std::string text(const char* field);
  // An enum whose values run from 0 to `last`.
  template <class E>
  E enumeration(const char* field, E last) {
    const auto at = position_;
    const auto v = u64(field);
    if (v > static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(last))) fail(field, "value out of range", at);
    return ok() ? static_cast<E>(static_cast<std::underlying_type_t<E>>(v)) : E{};
  }
  // An enum that may take any value of its underlying type (IANA numbers).
  template <class E>
  E any_enumeration(const char* field) {
    const auto at = position_;
    const auto v = u64(field);
    if (v > std::numeric_limits<std::underlying_type_t<E>>::max()) fail(field, "value out of range", at);
    return static_cast<E>(static_cast<std::underlying_type_t<E>>(v));
  }
  // A count of elements each at least `min_size` bytes: bounded by what is left.
  std::size_t count(const char* field, std::size_t min_size);
  void raw(void* p, std::size_t n, const char* field);

  bool ok() const noexcept { return error_.empty(); }
  // `at`: where the field began (default: where reading stands).
  void fail(const char* field, const std::string& why, std::optional<std::size_t> at = std::nullopt);
  // The decoded value, or the first error; also an error when bytes are left over.
  template <class T>
  Expected<T, std::string> finish(T value) {
    if (ok() && position_ != in_.size()) fail("end", std::to_string(in_.size() - position_) + " bytes left over");
    if (!ok()) return unexpected(error_);
    return value;
  }

 private:
  template <class T>
  T fixed(const char* field) {
    T v{};
    raw(&v, sizeof v, field);
    return v;
  }
  std::span<const std::uint8_t> in_;
  std::string what_;
  std::size_t position_ = 0;
  std::string error_;
};

void encode(Encoder& e, const IpAddress& a);
IpAddress decode_address(Decoder& d, const char* field);

void encode(Encoder& e, const driver::Acquire& a);
Expected<driver::Acquire, std::string> decode_acquire(std::span<const std::uint8_t> body);
void encode(Encoder& e, const driver::SaExpiry& x);
Expected<driver::SaExpiry, std::string> decode_expiry(std::span<const std::uint8_t> body);
void encode(Encoder& e, const driver::DynamicSelector& s);
driver::DynamicSelector decode_dynamic_selector(Decoder& d);
void encode(Encoder& e, const driver::SoftAssociation& a);
Expected<driver::SoftAssociation, std::string> decode_soft_association(std::span<const std::uint8_t> body);
void encode(Encoder& e, const driver::SaInstall& sa);
Expected<driver::SaInstall, std::string> decode_sa_install(std::span<const std::uint8_t> body);
void encode(Encoder& e, const driver::DataplaneCounters& c);
Expected<driver::DataplaneCounters, std::string> decode_counters(std::span<const std::uint8_t> body);
void encode(Encoder& e, const ike::service::IkeEvent& ev);
Expected<ike::service::IkeEvent, std::string> decode_event(std::span<const std::uint8_t> body);
void encode(Encoder& e, const ike::service::IkeSnapshot& s);
Expected<ike::service::IkeSnapshot, std::string> decode_snapshot(std::span<const std::uint8_t> body);
void encode(Encoder& e, const ike::sa::TrafficSelector& ts);
ike::sa::TrafficSelector decode_selector(Decoder& d);

// A phase 1 policy with its auth providers named by handle (the keys stay with the parent).
struct RemoteAuth {
  IkeAuthenticationMethod method = IkeAuthenticationMethod::PreSharedKey;
  std::uint32_t handle = 0;
};
struct RemotePhase1Policy {
  std::vector<RemoteAuth> auth;
  std::vector<ike::sa::Phase1Proposal> proposals;
  bool allow_legacy = false;
  std::uint32_t quick_mode_limit = 0;
};
void encode(Encoder& e, const RemotePhase1Policy& p);
Expected<RemotePhase1Policy, std::string> decode_phase1_policy(std::span<const std::uint8_t> body);
void encode(Encoder& e, const ike::service::QuickModePolicy& p);
Expected<ike::service::QuickModePolicy, std::string> decode_quick_mode_policy(std::span<const std::uint8_t> body);

}  // namespace ward::agent::ikeproc
