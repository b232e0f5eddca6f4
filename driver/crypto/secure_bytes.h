// SecureBytes: key material that wipes itself (OPENSSL_cleanse) when it dies or is overwritten.
// It has no stream operator and no hex dump: keys never reach a log.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace ward::driver::crypto {

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(std::span<const std::byte> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  SecureBytes(const SecureBytes& other) : bytes_(other.bytes_) {}
  SecureBytes(SecureBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecureBytes& operator=(const SecureBytes& other);
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  ~SecureBytes() { wipe(); }

  // Named so that every use of the key bytes is visible at the call site.
  std::span<const std::byte> reveal() const noexcept { return bytes_; }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }

 private:
  void wipe() noexcept;
  std::vector<std::byte> bytes_;
};

}  // namespace ward::driver::crypto
