#include "driver/nfqueue/nfqueue_dataplane.h"

#include <fcntl.h>
#include <linux/netfilter.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ward::driver {

namespace {

using namespace std::chrono_literals;

constexpr auto kReceiveTimeout = 100ms;
constexpr auto kTickInterval = 1s;

std::uint64_t hold_token(std::size_t queue, std::uint32_t packet_id) { return (std::uint64_t{queue} << 32) | packet_id; }
// Held segments of the unsegmented queue: their originals were dropped, so once released they
// leave through the raw socket instead of as a verdict.
constexpr std::uint64_t kRawToken = std::uint64_t{0xFFFFFFFF} << 32;

bool is_outbound_hook(std::uint8_t hook) { return hook == NF_INET_LOCAL_OUT || hook == NF_INET_POST_ROUTING; }

}  // namespace

NfqueueDataplane::NfqueueDataplane(DataplaneListener& listener, NfqueueOptions options, std::unique_ptr<KernelTable> kernel)
    : options_(std::move(options)), engine_(listener, options_.engine), kernel_(std::move(kernel)) {}

Expected<std::unique_ptr<NfqueueDataplane>, std::string> NfqueueDataplane::start(DataplaneListener& listener, NfqueueOptions options) {
  std::unique_ptr<TunInjector> tun;
  std::string tun_error;
  if (options.tun_injection) {
    if (auto opened = TunInjector::open(); opened) {
      tun = std::move(*opened);
      options.kernel.exempt_interfaces.push_back(tun->name());  // decrypted and checked already
    } else {
      tun_error = opened.error();
    }
  }
  std::unique_ptr<EspRing> ring;
  std::string ring_error;
  if (options.esp_ring && tun) {
    if (auto opened = EspRing::open(options.kernel.exempt_interfaces); opened) {
      ring = std::move(*opened);
      options.kernel.esp_taken_before = true;
    } else {
      ring_error = opened.error();  // ESP keeps coming through the queue
    }
  } else if (options.esp_ring) {
    ring_error = "no TUN device to hand decrypted packets to";
  }
  // Raw sockets need CAP_NET_RAW, which the per-packet path does without: where they cannot be
  // opened, TCP goes through the ordinary queues (one round trip per segment) instead of the
  // dataplane failing to start.
  std::unique_ptr<RawSender> release_sender;
  std::string segmentation_error;
  if (options.tcp_segmentation) {
    if (auto release = RawSender::open(); release) {
      release_sender = std::make_unique<RawSender>(std::move(*release));
    } else {
      segmentation_error = release.error();
      options.tcp_segmentation = false;
    }
  }
  const bool segmenting = options.tcp_segmentation;
  if (segmenting) options.kernel.tcp_queue = static_cast<std::uint16_t>(options.kernel.first_queue + options.kernel.queue_count);
  auto kernel = KernelTable::open(options.kernel);
  if (!kernel) return unexpected("the kernel table: " + kernel.error());
  std::unique_ptr<NfqueueDataplane> dataplane(new NfqueueDataplane(listener, std::move(options), std::move(*kernel)));
  const auto& chains = dataplane->options_.kernel;
  const std::uint16_t queues = static_cast<std::uint16_t>(chains.queue_count + (segmenting ? 1 : 0));
  for (std::uint16_t i = 0; i < queues; ++i) {
    QueueOptions queue_options{static_cast<std::uint16_t>(chains.first_queue + i)};
    auto slot = std::make_unique<Queue>();
    slot->unsegmented = segmenting && i == chains.queue_count;
    queue_options.gso = slot->unsegmented;
    auto queue = NetfilterQueue::open(queue_options);
    if (!queue) return unexpected("NFQUEUE " + std::to_string(queue_options.queue_number) + ": " + queue.error());
    slot->queue = std::move(*queue);
    if (slot->unsegmented) {
      auto raw = RawSender::open();
      if (!raw) return unexpected(raw.error());
      slot->raw = std::make_unique<RawSender>(std::move(*raw));
    }
    dataplane->queues_.push_back(std::move(slot));
  }
  dataplane->tun_ = std::move(tun);
  dataplane->tun_error_ = std::move(tun_error);
  dataplane->ring_ = std::move(ring);
  dataplane->ring_error_ = std::move(ring_error);
  dataplane->release_sender_ = std::move(release_sender);
  dataplane->segmentation_error_ = std::move(segmentation_error);
  // Threads created here inherit this thread's network namespace.
  for (std::size_t i = 0; i < dataplane->queues_.size(); ++i) dataplane->threads_.emplace_back([d = dataplane.get(), i] { d->serve(i); });
  if (dataplane->ring_) dataplane->threads_.emplace_back([d = dataplane.get()] { d->serve_ring(); });
  return dataplane;
}

NfqueueDataplane::~NfqueueDataplane() {
  stopping_ = true;
  for (auto& thread : threads_) thread.join();
  (void)kernel_->remove();
  for (const int fd : ike_nat_t_sockets_) close(fd);
}

Expected<void, std::string> NfqueueDataplane::prepare_ike_socket(int fd, bool nat_traversal) {
  if (!nat_traversal) return {};
  std::lock_guard lock(release_mutex_);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0 || (bound.ss_family != AF_INET && bound.ss_family != AF_INET6)) {
    return {};
  }
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return {};  // ESP in UDP then goes out per packet: not a reason to fail IKE
  ike_nat_t_sockets_.push_back(copy);
  for (auto& slot : queues_) {
    if (slot->raw) slot->raw->adopt_udp_socket(copy);
  }
  if (release_sender_) release_sender_->adopt_udp_socket(copy);
  return {};
}

NfqueueDataplane::BackendCounters NfqueueDataplane::backend_counters() const noexcept {
  BackendCounters counters{verdict_errors_.load(), segmentation_errors_.load(), raw_send_errors_.load(), inject_errors_.load(),
                           ring_packets_.load(), ring_drops_.load()};
  if (ring_) {
    counters.ring_superpackets = ring_->superpackets();
    counters.ring_unsplit = ring_->unsplit();
  }
  for (const auto& slot : queues_) {
    if (!slot->raw) continue;
    counters.udp_gso_datagrams += slot->raw->gso_datagrams();
    counters.udp_gso_sends += slot->raw->gso_sends();
  }
  return counters;
}

std::string NfqueueDataplane::fast_path_status() const {
  const auto part = [](const char* what, bool on, const std::string& why) {
    return std::string(what) + (on ? " on" : " off") + (on || why.empty() ? "" : " (" + why + ")");
  };
  return part("TCP segmentation", release_sender_ != nullptr, segmentation_error_) + ", " +
         (tun_ ? "TUN device " + tun_->name() : part("TUN device", false, tun_error_)) + ", " +
         part("ESP ring", ring_ != nullptr, ring_error_);
}

Capabilities NfqueueDataplane::capabilities() const {
  return Capabilities{.userspace_crypto = true, .kernel_sas = false, .atomic_table_swap = true, .holds_packets = true};
}

Expected<void, std::string> NfqueueDataplane::install_filter_table(FilterTable table) {
  std::lock_guard lock(kernel_mutex_);
  // The classifier is built before the kernel commit, and swapped in right after it: a packet the
  // new kernel table queues meets the old engine table only in between (microseconds).
  auto prepared = engine_.prepare_table(table);
  const auto version = engine_.dynamic_filters_version();
  const auto dynamic = engine_.dynamic_filters();
  auto installed = kernel_->install(table, dynamic);
  if (!installed) return unexpected(installed.error());
  engine_.install_prepared(std::move(prepared));
  kernel_dynamic_version_ = version;
  return {};
}

Expected<void, std::string> NfqueueDataplane::sync_dynamic_filters() {
  std::lock_guard lock(kernel_mutex_);
  const auto version = engine_.dynamic_filters_version();
  if (version == kernel_dynamic_version_) return {};
  if (auto replaced = kernel_->replace_dynamic(engine_.dynamic_filters()); !replaced) {
    return unexpected("the kernel maps of the dynamic filters: " + replaced.error());
  }
  kernel_dynamic_version_ = version;
  return {};
}

void NfqueueDataplane::give_verdict(std::size_t index, std::uint32_t packet_id, const PacketOutcome& outcome) {
  auto& slot = *queues_[index];
  Expected<void, std::string> sent;
  {
    std::lock_guard lock(slot.verdict_mutex);
    switch (outcome.disposition) {
      case Disposition::Accept: sent = slot.queue->verdict(packet_id, Verdict::Accept); break;
      case Disposition::AcceptModified: sent = slot.queue->verdict(packet_id, Verdict::Accept, outcome.bytes); break;
      case Disposition::Drop: sent = slot.queue->verdict(packet_id, Verdict::Drop); break;
      case Disposition::Held: return;
    }
  }
  if (!sent) verdict_errors_.fetch_add(1, std::memory_order_relaxed);
}

void NfqueueDataplane::flush_verdicts(std::size_t index) {
  auto& slot = *queues_[index];
  std::lock_guard lock(slot.verdict_mutex);
  if (slot.queue->pending_verdicts() == 0) return;
  const std::size_t pending = slot.queue->pending_verdicts();
  if (!slot.queue->flush()) verdict_errors_.fetch_add(pending, std::memory_order_relaxed);
}

void NfqueueDataplane::deliver(const std::vector<ReleasedPacket>& released) {
  if (release_sender_) {  // only the unsegmented queue holds kRawToken packets
    std::lock_guard lock(release_mutex_);
    for (const auto& packet : released) {
      if (packet.token != kRawToken) continue;
      if (packet.disposition == Disposition::Accept || packet.disposition == Disposition::AcceptModified) release_sender_->queue(packet.bytes);
    }
    raw_send_errors_.fetch_add(release_sender_->flush(), std::memory_order_relaxed);
  }
  for (const auto& packet : released) {
    if (packet.token == kRawToken) continue;
    const auto index = static_cast<std::size_t>(packet.token >> 32);
    if (index >= queues_.size()) continue;
    give_verdict(index, static_cast<std::uint32_t>(packet.token), PacketOutcome{packet.disposition, packet.bytes});
  }
  for (std::size_t index = 0; index < queues_.size(); ++index) flush_verdicts(index);
}

void NfqueueDataplane::cut_unsegmented(std::size_t index, const QueuedPacket& packet) {
  auto& slot = *queues_[index];
  const auto& kernel = options_.kernel;
  const std::size_t first = slot.segments.count;
  const bool v4 = !packet.payload.empty() && (std::to_integer<unsigned>(packet.payload[0]) >> 4) == 4;
  if (packet.truncated || packet.payload.empty() ||
      !append_tcp_segments(packet.payload, v4 ? kernel.tcp_mss_ipv4 : kernel.tcp_mss_ipv6, slot.segments)) {
    segmentation_errors_.fetch_add(1, std::memory_order_relaxed);
    give_verdict(index, packet.id, PacketOutcome{Disposition::Drop, {}});
    return;
  }
  slot.cuts.push_back({packet.id, first, slot.segments.count - first});
}

void NfqueueDataplane::send_unsegmented(std::size_t index) {
  auto& slot = *queues_[index];
  // Scratch of its own: handle_batch() collects the batch's ordinary outbound packets in
  // slot.spans/tokens/outcomes.
  const std::size_t count = slot.segments.count;
  slot.segment_spans.resize(count);
  for (std::size_t i = 0; i < count; ++i) slot.segment_spans[i] = slot.segments[i];
  slot.segment_tokens.assign(count, kRawToken);
  if (slot.segment_outcomes.size() < count) slot.segment_outcomes.resize(count);
  const auto outcomes = std::span(slot.segment_outcomes).first(count);
  engine_.outbound_burst(slot.segment_spans, slot.segment_tokens, outcomes);
  for (const auto& cut : slot.cuts) {
    const auto own = outcomes.subspan(cut.first, cut.count);
    if (std::all_of(own.begin(), own.end(), [](const PacketOutcome& o) { return o.disposition == Disposition::Accept; })) {
      // Nothing to protect (permit, a soft association): the kernel segments the original itself.
      give_verdict(index, cut.packet_id, PacketOutcome{Disposition::Accept, {}});
      continue;
    }
    for (std::size_t i = cut.first; i < cut.first + cut.count; ++i) {
      const auto& outcome = outcomes[i];
      if (outcome.disposition == Disposition::AcceptModified) slot.raw->queue(outcome.bytes);
      // Clear among protected (cannot happen for one flow's segments, but never lose it): it passes
      // the output hook once more and comes back as a packet of its own.
      if (outcome.disposition == Disposition::Accept) slot.raw->queue(slot.segment_spans[i]);
    }
    give_verdict(index, cut.packet_id, PacketOutcome{Disposition::Drop, {}});
  }
  // The whole batch's ESP packets (a superpacket's ~48, or a burst of the receiver's ACKs) with
  // one sendmmsg, in queue order; the originals' drop verdicts follow in serve()'s flush.
  raw_send_errors_.fetch_add(slot.raw->flush(), std::memory_order_relaxed);
  slot.cuts.clear();
  slot.segments.count = 0;
}

void NfqueueDataplane::handle_batch(std::size_t index) {
  auto& slot = *queues_[index];
  // Outbound packets of the ordinary queues are classified in one burst; inbound ones (ESP/AH are
  // looked up by SPI, their inner packets after decryption) one by one.
  slot.spans.clear();
  slot.tokens.clear();
  slot.decrypted.clear();
  std::size_t inbound = 0;
  for (const auto& packet : slot.batch) {
    if (!is_outbound_hook(packet.hook)) {
      if (slot.inbound_outcomes.size() <= inbound) slot.inbound_outcomes.resize(inbound + 1);
      auto& outcome = slot.inbound_outcomes[inbound++];
      // Through the TUN device, decrypted packets reach the stack marked checksum-valid/partial.
      engine_.inbound_into(packet.payload, outcome, tun_ ? crypto::InnerChecksum::MarkedValidByCaller : crypto::InnerChecksum::Refresh);
      if (tun_ && outcome.disposition == Disposition::AcceptModified) {
        slot.decrypted.push_back(outcome.bytes);  // to the stack through the TUN device, below
        give_verdict(index, packet.id, PacketOutcome{Disposition::Drop, {}});
      } else {
        give_verdict(index, packet.id, outcome);
      }
    } else if (slot.unsegmented) {
      cut_unsegmented(index, packet);
    } else {
      slot.spans.push_back(packet.payload);
      slot.tokens.push_back(hold_token(index, packet.id));
    }
  }
  if (!slot.decrypted.empty()) inject_errors_.fetch_add(tun_->inject(slot.decrypted), std::memory_order_relaxed);
  if (!slot.cuts.empty()) send_unsegmented(index);
  if (slot.spans.empty()) return;
  if (slot.outcomes.size() < slot.spans.size()) slot.outcomes.resize(slot.spans.size());
  engine_.outbound_burst(slot.spans, slot.tokens, std::span(slot.outcomes).first(slot.spans.size()));
  std::size_t next = 0;
  for (const auto& packet : slot.batch) {
    if (!is_outbound_hook(packet.hook)) continue;
    give_verdict(index, packet.id, slot.outcomes[next++]);
  }
}

void NfqueueDataplane::serve_ring() {
  std::vector<PacketOutcome> outcomes;
  std::vector<std::span<const std::byte>> decrypted;
  const EspRing::BatchHandler handler = [&](std::span<const std::span<const std::byte>> packets) {
    if (outcomes.size() < packets.size()) outcomes.resize(packets.size());
    decrypted.clear();
    for (std::size_t i = 0; i < packets.size(); ++i) {
      engine_.inbound_into(packets[i], outcomes[i], crypto::InnerChecksum::MarkedValidByCaller);  // to the TUN device; no allocation once warm
      // Anything but a decrypted packet is dropped: the kernel dropped the original already.
      if (outcomes[i].disposition == Disposition::AcceptModified) decrypted.push_back(outcomes[i].bytes);
    }
    ring_packets_.fetch_add(packets.size(), std::memory_order_relaxed);
    if (!decrypted.empty()) inject_errors_.fetch_add(tun_->inject(decrypted), std::memory_order_relaxed);
  };
  while (!stopping_) {
    (void)ring_->receive(handler, kReceiveTimeout);
    if (const auto dropped = ring_->drops(); dropped > 0) ring_drops_.fetch_add(dropped, std::memory_order_relaxed);
  }
}

void NfqueueDataplane::serve(std::size_t index) {
  auto& slot = *queues_[index];
  auto last_tick = std::chrono::steady_clock::now();
  const NetfilterQueue::Handler handler = [&](const QueuedPacket& packet) { slot.batch.push_back(packet); };
  while (!stopping_) {
    slot.batch.clear();
    (void)slot.queue->receive(handler, kReceiveTimeout);
    handle_batch(index);
    flush_verdicts(index);  // the batch's verdicts, one system call
    if (index == 0 && (engine_.expiry_due() || std::chrono::steady_clock::now() - last_tick >= kTickInterval)) {
      last_tick = std::chrono::steady_clock::now();
      deliver(engine_.tick());
      // Hard-expired SAs may have taken the last of a dynamic filter's; its kernel rule goes too (a
      // failure is retried on the next tick: until then its traffic is queued and passes clear).
      (void)sync_dynamic_filters();
    }
  }
}

Expected<void, std::string> NfqueueDataplane::add_sa(SaInstall sa) {
  const auto spi = sa.params.spi;
  const auto direction = sa.params.direction;
  const auto peer = sa.peer;
  auto released = engine_.add_sa(std::move(sa));
  if (!released) return unexpected(released.error());
  if (auto synced = sync_dynamic_filters(); !synced) {
    // Without its kernel rule the SA's dynamic filter would see no packets: refuse the SA.
    (void)engine_.delete_sa(spi, direction, &peer);
    (void)sync_dynamic_filters();
    deliver(*released);
    return unexpected(synced.error());
  }
  deliver(*released);
  return {};
}

Expected<void, std::string> NfqueueDataplane::delete_sa(std::uint32_t spi, crypto::Direction direction) {
  auto deleted = engine_.delete_sa(spi, direction);
  if (!deleted) return deleted;
  return sync_dynamic_filters();
}

Expected<void, std::string> NfqueueDataplane::delete_sa_of_peer(std::uint32_t spi, crypto::Direction direction, const IpAddress& peer) {
  auto deleted = engine_.delete_sa(spi, direction, &peer);
  if (!deleted) return deleted;
  return sync_dynamic_filters();
}

Expected<void, std::string> NfqueueDataplane::add_soft_association(SoftAssociation association) {
  auto released = engine_.add_soft_association(association);
  if (!released) return unexpected(released.error());
  deliver(*released);
  return {};
}

Expected<void, std::string> NfqueueDataplane::delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) {
  return engine_.delete_soft_association(filter_id, peer);
}

DataplaneCounters NfqueueDataplane::counters() const {
  auto counters = engine_.counters();
  // Permit and block are decided in the kernel: their packets never reach the engine.
  if (auto kernel = kernel_->counters(); kernel && kernel->size() == counters.filters.size()) {
    for (std::size_t i = 0; i < kernel->size(); ++i) {
      counters.filters[i].packets += (*kernel)[i].packets;
      counters.filters[i].bytes += (*kernel)[i].bytes;
    }
  }
  return counters;
}

}  // namespace ward::driver
