// What went over a link, both ways, as seen from one end inside a network namespace: an AF_PACKET
// socket on the interface, read by a thread of the test process. A light stand-in for tshark where only the
// headers matter (which protocol, AH around what, which ports, which ISAKMP exchange): it starts
// at once and holds every packet as soon as the kernel hands it on, so there is nothing to flush
// (tshark inside User-mode Linux took tens of seconds per test). IPv4 only.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ip.h"
#include "tests/netns/netns.h"

namespace ward::testing {

struct CapturedPacket {
  IpAddress source;
  IpAddress destination;
  std::uint8_t protocol = 0;        // IP protocol
  std::uint8_t ah_next_header = 0;  // AH: what it carries (50 for ESP, 1 for ICMP, ...)
  std::uint16_t source_port = 0;    // UDP and TCP
  std::uint16_t destination_port = 0;
  int isakmp_exchange = -1;         // UDP 500, or 4500 behind the non-ESP marker: the exchange type
  bool udp_encapsulated_esp = false;  // UDP 4500 without the non-ESP marker
  bool outgoing = false;            // sent by this end (else received, or re-injected: see below)
  std::size_t length = 0;           // the frame's bytes as the socket gave them (at most 64 KiB): a
                                    // GSO superpacket is longer than the link's MTU
};

class PacketCapture {
 public:
  // Capturing has begun when the constructor returns; throws when the socket cannot be opened.
  PacketCapture(const Netns& ns, const std::string& interface);
  ~PacketCapture();
  PacketCapture(const PacketCapture&) = delete;
  PacketCapture& operator=(const PacketCapture&) = delete;

  // Everything captured so far (what the socket holds is read first).
  std::vector<CapturedPacket> packets();
  // "proto[/AH next header]" of the packets between two addresses (either way), counted: {"50": 8}.
  // outgoing_only: what this end sent. A kernel that decapsulates tunnel-mode ESP hands the inner
  // packet to the interface's receive path again, where the capture sees it as received: what a
  // tunnel carried on the wire is what each end sent.
  std::map<std::string, int> protocols_between(const IpAddress& a, const IpAddress& b, bool outgoing_only = false);
  static std::string describe(const std::map<std::string, int>& counts);

 private:
  void drain();
  int fd_ = -1;
  std::mutex mutex_;
  std::vector<CapturedPacket> packets_;
  std::atomic<bool> stopping_{false};
  std::thread reader_;
};

}  // namespace ward::testing
