// OutputLease: lends a caller's output vector to a ByteWriter for one packet and hands the
// storage back on scope exit, so the packet path reuses one buffer and allocates nothing.
#pragma once

#include <cstddef>
#include <vector>

#include <openssl/crypto.h>

#include "common/byte_writer.h"

namespace ward::driver::crypto {

class OutputLease {
 public:
  explicit OutputLease(std::vector<std::byte>& out) : out_(out), writer_(std::move(out)) {}
  OutputLease(const OutputLease&) = delete;
  OutputLease& operator=(const OutputLease&) = delete;
  ~OutputLease() { out_ = std::move(writer_).take(); }

  ByteWriter& writer() noexcept { return writer_; }
  // For failures: wipes what was written (it may hold unauthenticated plaintext) and empties it.
  void discard() noexcept {
    auto written = writer_.written();
    if (!written.empty()) OPENSSL_cleanse(written.data(), written.size());
    writer_.truncate(0);
  }

 private:
  std::vector<std::byte>& out_;
  ByteWriter writer_;
};

}  // namespace ward::driver::crypto
