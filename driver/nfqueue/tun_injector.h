// Hands decrypted packets to the stack through a TUN device with virtio-net headers, as
// wireguard-go does: consecutive TCP segments of one flow (contiguous sequence numbers, the same
// headers otherwise) are joined into one packet of up to 64 KiB marked for segmentation
// (VIRTIO_NET_HDR_GSO_TCPV4/6, checksum partial), so the stack takes one 64 KiB packet where it
// took 45 verdicts of 1,400 bytes; other packets go one by one, TCP and UDP ones checksum-partial
// too (NEEDS_CSUM, the pseudo-header sum in the field: the stack does not check them on local
// delivery; a TUN write ignores DATA_VALID, measured on 6.18). ESP's ICV authenticated every byte,
// so the engine leaves the inner checksum of transport-mode ESP in UDP as the peer wrote it
// (crypto::InnerChecksum::MarkedValidByCaller: RFC 3948 3.1.2's recompute is for a stack that checks).
// The queue gives the ESP packet a drop verdict instead of the decrypted replacement: no
// per-packet re-injection of the kernel's copy.
//
// The device has no address and no route points into it: the stack only ever receives from it.
// The kernel table exempts it (what arrives there was decrypted and checked by the engine), and its
// reverse-path filter is off (the inner source routes through the real interface). Sockets bound
// to the real interface (SO_BINDTODEVICE) do not see traffic that arrives through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"

namespace ward::driver {

class TunInjector {
 public:
  // Creates the device ("ward%d": the kernel picks the number) in the calling thread's network
  // namespace and brings it up. Needs CAP_NET_ADMIN there.
  static Expected<std::unique_ptr<TunInjector>, std::string> open();
  ~TunInjector();

  const std::string& name() const noexcept { return name_; }

  // One burst (a queue batch's decrypted packets, in order): joined where possible and written.
  // Returns the number of packets the kernel refused. Thread-safe (each burst is joined apart).
  std::size_t inject(std::span<const std::span<const std::byte>> packets);

 private:
  TunInjector(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_;
  std::string name_;
};

// One write to the device: `head` (the 10-byte virtio_net_hdr, then a joined run's IP and TCP
// headers, or a whole single packet), then `payloads` (a run's segment payloads, in order, pointing
// into the caller's packets: written with writev, never copied in userspace).
struct TunPacket {
  std::vector<std::byte> head;
  std::vector<std::span<const std::byte>> payloads;
  std::size_t size() const noexcept;
  std::vector<std::byte> bytes() const;  // head and payloads as one buffer (tests)
};

// The joining rule, apart for tests: fills `out` with the writes for `packets` (valid while they
// are), and returns how many there are. `out`'s buffers are reused between calls.
std::size_t join_tcp_segments(std::span<const std::span<const std::byte>> packets, std::vector<TunPacket>& out);

}  // namespace ward::driver
