#include "driver/nfqueue/nfqueue_dataplane.h"

#include <linux/netfilter.h>

#include <cerrno>
#include <cstring>

namespace ward::driver {

namespace {

using namespace std::chrono_literals;

constexpr auto kReceiveTimeout = 100ms;
constexpr auto kTickInterval = 1s;

std::uint64_t hold_token(std::size_t queue, std::uint32_t packet_id) { return (std::uint64_t{queue} << 32) | packet_id; }

bool is_outbound_hook(std::uint8_t hook) { return hook == NF_INET_LOCAL_OUT || hook == NF_INET_POST_ROUTING; }

}  // namespace

NfqueueDataplane::NfqueueDataplane(DataplaneListener& listener, NfqueueOptions options, std::unique_ptr<KernelTable> kernel)
    : options_(std::move(options)), engine_(listener, options_.engine), kernel_(std::move(kernel)) {}

Expected<std::unique_ptr<NfqueueDataplane>, std::string> NfqueueDataplane::start(DataplaneListener& listener, NfqueueOptions options) {
  auto kernel = KernelTable::open(options.kernel);
  if (!kernel) return unexpected("the kernel table: " + kernel.error());
  std::unique_ptr<NfqueueDataplane> dataplane(new NfqueueDataplane(listener, std::move(options), std::move(*kernel)));
  const auto& chains = dataplane->options_.kernel;
  for (std::uint16_t i = 0; i < chains.queue_count; ++i) {
    auto queue = NetfilterQueue::open(QueueOptions{static_cast<std::uint16_t>(chains.first_queue + i)});
    if (!queue) return unexpected("NFQUEUE " + std::to_string(chains.first_queue + i) + ": " + queue.error());
    auto slot = std::make_unique<Queue>();
    slot->queue = std::move(*queue);
    dataplane->queues_.push_back(std::move(slot));
  }
  // Threads created here inherit this thread's network namespace.
  for (std::size_t i = 0; i < dataplane->queues_.size(); ++i) dataplane->threads_.emplace_back([d = dataplane.get(), i] { d->serve(i); });
  return dataplane;
}

NfqueueDataplane::~NfqueueDataplane() {
  stopping_ = true;
  for (auto& thread : threads_) thread.join();
  (void)kernel_->remove();
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
  for (const auto& packet : released) {
    const auto index = static_cast<std::size_t>(packet.token >> 32);
    if (index >= queues_.size()) continue;
    give_verdict(index, static_cast<std::uint32_t>(packet.token), PacketOutcome{packet.disposition, packet.bytes});
  }
  for (std::size_t index = 0; index < queues_.size(); ++index) flush_verdicts(index);
}

void NfqueueDataplane::serve(std::size_t index) {
  auto& slot = *queues_[index];
  auto last_tick = std::chrono::steady_clock::now();
  const NetfilterQueue::Handler handler = [&](const QueuedPacket& packet) {
    const auto outcome = is_outbound_hook(packet.hook) ? engine_.outbound(packet.payload, hold_token(index, packet.id))
                                                       : engine_.inbound(packet.payload);
    give_verdict(index, packet.id, outcome);
  };
  while (!stopping_) {
    (void)slot.queue->receive(handler, kReceiveTimeout);
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
  auto released = engine_.add_sa(std::move(sa));
  if (!released) return unexpected(released.error());
  if (auto synced = sync_dynamic_filters(); !synced) {
    // Without its kernel rule the SA's dynamic filter would see no packets: refuse the SA.
    (void)engine_.delete_sa(spi, direction);
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
