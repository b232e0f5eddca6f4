// The codec under the messages between wardd and its IKE process (agent/privsep Channel): one
// description per body, walked by both an Encoder and a Decoder, so a field is written and read
// by the same line (wire.h holds the descriptions). Values travel field by field in host order
// (both ends are the same binary).
//
// A Decoder never reads past its body: a short or inconsistent body sets a sticky error naming the
// body, the field and the byte offset, and decode() returns it. The parent decodes what a possibly
// compromised child sends, so decoding is strict (the encoding of a value is unique): booleans are
// 0 or 1, enums range-checked, an IPv4 address has nothing after its four bytes, a prefix no host
// bits, and a list grows only as its elements are read (a count is bounded by what is left, and
// nothing is allocated ahead for it).
//
// What a field may be: an unsigned integer, bool, an enum with a Wire<E> bound, a std::chrono
// duration, Bounded<Min, Max>, IpAddress, IpPrefix, driver::crypto::IpAddress, std::string, SecureBytes,
// std::vector<std::byte>, std::optional<T>, std::vector<T>, std::array<T, N>, std::variant<T...>
// (a u8 index, then that alternative), or a struct with a Wire<T> description (Wire<T>::raw: a
// trivially copyable struct sent as its bytes).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/crypto/sa_params.h"
#include "driver/crypto/secure_bytes.h"

namespace ward::agent::ikeproc {

// An unsigned number the receiver acts on (a count it makes room or threads for, an index into
// it): refused outside Min..Max when decoded. A u32 on the wire.
template <std::uint32_t Min, std::uint32_t Max>
struct Bounded {
  static_assert(Min <= Max);
  static constexpr std::uint32_t min = Min;
  static constexpr std::uint32_t max = Max;
  std::uint32_t value = Min;
  friend bool operator==(const Bounded&, const Bounded&) = default;
};

// Specialised in wire.h for every struct and enum that crosses:
//   struct: static constexpr const char* name; template <class Io, class V> static void fields(Io&, V&)
//           (V is T or const T; each field as io("field name", v.member))
//           and optionally static std::optional<std::string> check(const T&): a rule across fields
//   enum:   static constexpr E last (values 0..last; with static constexpr E first, first..last),
//           or static constexpr bool open = true (any value of the underlying type: IANA numbers)
template <class T>
struct Wire;

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_array : std::false_type {};
template <class T, std::size_t N>
struct is_array<std::array<T, N>> : std::true_type {};
template <class T>
struct is_variant : std::false_type {};
template <class... T>
struct is_variant<std::variant<T...>> : std::true_type {};
template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};
template <class T>
struct is_bounded : std::false_type {};
template <std::uint32_t Min, std::uint32_t Max>
struct is_bounded<Bounded<Min, Max>> : std::true_type {};
template <class T>
concept RawStruct = requires { Wire<T>::raw; };
template <class T>
concept OpenEnum = requires { Wire<T>::open; };
template <class T>
concept FirstBoundEnum = requires { Wire<T>::first; };
template <class T>
concept FieldStruct = requires { Wire<T>::name; };
}  // namespace detail

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
  void raw(const void* p, std::size_t n) {
    if (n == 0) return;
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void address(const IpAddress& a);
  void address(const driver::crypto::IpAddress& a);

  // One field of a description.
  template <class T>
  void operator()(const char* /*field*/, const T& v) {
    put(v);
  }

  const std::vector<std::uint8_t>& body() const noexcept { return out_; }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  template <class T>
  void put(const T& v);
  std::vector<std::uint8_t> out_;
};

class Decoder {
 public:
  Decoder(std::span<const std::uint8_t> body, std::string what) : in_(body), what_(std::move(what)) {}

  // `field` names what is read in errors, after the fields of the structs it is in
  // ("peer_side.prefix", "sas[2].peer").
  std::uint8_t u8(std::string_view field) { return fixed<std::uint8_t>(field); }
  std::uint16_t u16(std::string_view field) { return fixed<std::uint16_t>(field); }
  std::uint32_t u32(std::string_view field) { return fixed<std::uint32_t>(field); }
  std::uint64_t u64(std::string_view field) { return fixed<std::uint64_t>(field); }
  bool boolean(std::string_view field);
  std::vector<std::byte> bytes(std::string_view field);
  IpAddress address(std::string_view field);
  driver::crypto::IpAddress crypto_address(std::string_view field);
  // A count of elements each at least `min_size` bytes: bounded by what is left.
  std::size_t count(std::string_view field, std::size_t min_size);
  void raw(void* p, std::size_t n, std::string_view field);

  // One field of a description.
  template <class T>
  void operator()(std::string_view field, T& v) {
    get(field, v);
  }

  bool ok() const noexcept { return error_.empty(); }
  // A description's rule across its fields (Wire<T>::check: nullopt, or why not), once they are
  // read; an error names the struct and where it began.
  template <class T>
  void check(std::string_view field, const T& v, std::size_t at) {
    if constexpr (requires { Wire<T>::check(v); }) {
      if (!ok()) return;
      if (auto why = Wire<T>::check(v)) fail(field, *why, at);
    }
  }
  // `at`: where the field began (default: where reading stands).
  void fail(std::string_view field, const std::string& why, std::optional<std::size_t> at = std::nullopt);
  // The decoded value, or the first error; also an error when bytes are left over.
  template <class T>
  Expected<T, std::string> finish(T value) {
    if (ok() && position_ != in_.size()) fail("end", std::to_string(in_.size() - position_) + " bytes left over");
    if (!ok()) return unexpected(error_);
    return value;
  }

 private:
  template <class T>
  T fixed(std::string_view field) {
    T v{};
    raw(&v, sizeof v, field);
    return v;
  }
  template <class T>
  void get(std::string_view field, T& v);
  template <class T, std::size_t... I>
  void get_alternative(std::string_view field, T& v, std::size_t index, std::index_sequence<I...>) {
    ((index == I ? get(field, v.template emplace<I>()) : void()), ...);
  }
  std::span<const std::uint8_t> in_;
  std::string what_;
  std::string path_;   // "peer_side." while reading the fields of peer_side
  std::size_t position_ = 0;
  std::string error_;
};

template <class T>
void Encoder::put(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    boolean(v);
  } else if constexpr (std::is_enum_v<T>) {
    u64(static_cast<std::uint64_t>(static_cast<std::underlying_type_t<T>>(v)));
  } else if constexpr (std::is_unsigned_v<T>) {
    static_assert(sizeof(T) <= sizeof(std::uint64_t));
    raw(&v, sizeof v);
  } else if constexpr (detail::is_bounded<T>::value) {
    u32(v.value);
  } else if constexpr (detail::is_duration<T>::value) {
    u64(static_cast<std::uint64_t>(static_cast<std::int64_t>(v.count())));
  } else if constexpr (std::is_same_v<T, IpAddress> || std::is_same_v<T, driver::crypto::IpAddress>) {
    address(v);
  } else if constexpr (std::is_same_v<T, IpPrefix>) {
    address(v.address());
    u8(static_cast<std::uint8_t>(v.length()));
  } else if constexpr (std::is_same_v<T, std::string>) {
    bytes(std::as_bytes(std::span(v.data(), v.size())));
  } else if constexpr (std::is_same_v<T, std::vector<std::byte>>) {
    bytes(v);
  } else if constexpr (std::is_same_v<T, driver::crypto::SecureBytes>) {
    bytes(v.reveal());
  } else if constexpr (detail::is_optional<T>::value) {
    boolean(v.has_value());
    if (v) put(*v);
  } else if constexpr (detail::is_vector<T>::value) {
    u32(static_cast<std::uint32_t>(v.size()));
    for (const auto& element : v) put(element);
  } else if constexpr (detail::is_array<T>::value) {
    for (const auto& element : v) put(element);
  } else if constexpr (detail::is_variant<T>::value) {
    static_assert(std::variant_size_v<T> <= std::numeric_limits<std::uint8_t>::max());
    u8(static_cast<std::uint8_t>(v.index()));
    std::visit([this](const auto& alternative) { this->put(alternative); }, v);
  } else if constexpr (detail::RawStruct<T>) {
    static_assert(std::is_trivially_copyable_v<T>);
    raw(&v, sizeof v);
  } else {
    static_assert(detail::FieldStruct<T>, "a type that crosses needs a Wire<T> description (wire.h)");
    Wire<T>::fields(*this, v);
  }
}

template <class T>
void Decoder::get(std::string_view field, T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    v = boolean(field);
  } else if constexpr (std::is_enum_v<T>) {
    using U = std::underlying_type_t<T>;
    const auto at = position_;
    const auto n = u64(field);
    if constexpr (detail::OpenEnum<T>) {
      if (n > std::numeric_limits<U>::max()) fail(field, "value out of range", at);
    } else {
      std::uint64_t first = 0;
      if constexpr (detail::FirstBoundEnum<T>) first = static_cast<std::uint64_t>(static_cast<U>(Wire<T>::first));
      if (n < first || n > static_cast<std::uint64_t>(static_cast<U>(Wire<T>::last))) fail(field, "value out of range", at);
    }
    v = ok() ? static_cast<T>(static_cast<U>(n)) : T{};
  } else if constexpr (std::is_unsigned_v<T>) {
    v = fixed<T>(field);
  } else if constexpr (detail::is_bounded<T>::value) {
    const auto at = position_;
    const auto n = u32(field);
    if (ok() && (n < T::min || n > T::max)) {
      fail(field, std::to_string(n) + " out of range (" + std::to_string(T::min) + ".." + std::to_string(T::max) + ")", at);
    }
    v.value = ok() ? n : T::min;
  } else if constexpr (detail::is_duration<T>::value) {
    v = T(static_cast<typename T::rep>(static_cast<std::int64_t>(u64(field))));
  } else if constexpr (std::is_same_v<T, IpAddress>) {
    v = address(field);
  } else if constexpr (std::is_same_v<T, driver::crypto::IpAddress>) {
    v = crypto_address(field);
  } else if constexpr (std::is_same_v<T, IpPrefix>) {
    const auto at = position_;
    const auto a = address(field);
    const auto length = u8(field);
    if (!ok()) return;
    if (auto prefix = IpPrefix::make(a, length)) v = *prefix;
    else fail(field, "not a prefix: " + a.to_string() + "/" + std::to_string(length), at);
  } else if constexpr (std::is_same_v<T, std::string>) {
    const auto b = bytes(field);
    v.assign(reinterpret_cast<const char*>(b.data()), b.size());
  } else if constexpr (std::is_same_v<T, std::vector<std::byte>>) {
    v = bytes(field);
  } else if constexpr (std::is_same_v<T, driver::crypto::SecureBytes>) {
    auto b = bytes(field);
    v = driver::crypto::SecureBytes(b);
    std::fill(b.begin(), b.end(), std::byte{0});
  } else if constexpr (detail::is_optional<T>::value) {
    if (boolean(field)) {
      v.emplace();
      get(field, *v);
    } else {
      v.reset();
    }
  } else if constexpr (detail::is_vector<T>::value) {
    const auto n = count(field, 1);
    v.clear();
    for (std::size_t i = 0; i < n && ok(); ++i) get(std::string(field) + "[" + std::to_string(i) + "]", v.emplace_back());
  } else if constexpr (detail::is_array<T>::value) {
    for (std::size_t i = 0; i < v.size() && ok(); ++i) get(std::string(field) + "[" + std::to_string(i) + "]", v[i]);
  } else if constexpr (detail::is_variant<T>::value) {
    const auto at = position_;
    const std::size_t index = u8(field);
    if (!ok()) return;
    if (index >= std::variant_size_v<T>) {
      fail(field, "alternative " + std::to_string(index) + " out of range (0.." + std::to_string(std::variant_size_v<T> - 1) + ")", at);
      return;
    }
    get_alternative(field, v, index, std::make_index_sequence<std::variant_size_v<T>>{});
  } else if constexpr (detail::RawStruct<T>) {
    static_assert(std::is_trivially_copyable_v<T>);
    raw(&v, sizeof v, field);
  } else {
    static_assert(detail::FieldStruct<T>, "a type that crosses needs a Wire<T> description (wire.h)");
    const auto at = position_;
    const auto outer = path_.size();
    path_.append(field).push_back('.');
    Wire<T>::fields(*this, v);
    path_.resize(outer);
    check(field, v, at);
  }
}

// A whole body.
template <class T>
void encode(Encoder& e, const T& value) {
  e("body", value);
}
template <class T>
std::vector<std::uint8_t> encode(const T& value) {
  Encoder e;
  encode(e, value);
  return e.take();
}
template <class T>
Expected<T, std::string> decode(std::span<const std::uint8_t> body) {
  Decoder d(body, Wire<T>::name);
  T value{};
  Wire<T>::fields(d, value);
  d.check("body", value, 0);
  return d.finish(std::move(value));
}

}  // namespace ward::agent::ikeproc
