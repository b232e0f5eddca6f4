#include "driver/nfqueue/nfqueue_dataplane.h"

#include <fcntl.h>
#include <linux/netfilter.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

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

NfqueueDataplane::NfqueueDataplane(DataplaneListener& listener, NfqueueOptions options, int namespace_fd)
    : options_(std::move(options)), engine_(listener, options_.engine), namespace_fd_(namespace_fd) {}

Expected<std::unique_ptr<NfqueueDataplane>, std::string> NfqueueDataplane::start(DataplaneListener& listener, NfqueueOptions options) {
  const int namespace_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (namespace_fd < 0) return unexpected(std::string("cannot open this thread's network namespace: ") + std::strerror(errno));
  std::unique_ptr<NfqueueDataplane> dataplane(new NfqueueDataplane(listener, std::move(options), namespace_fd));
  const auto& chains = dataplane->options_.chains;
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
  (void)in_own_namespace([this] { return remove_chain_rules(options_.chains); });
  close(namespace_fd_);
}

Capabilities NfqueueDataplane::capabilities() const {
  return Capabilities{.userspace_crypto = true, .kernel_sas = false, .atomic_table_swap = true, .holds_packets = true};
}

namespace {

// Whether the calling thread is in the network namespace `namespace_fd` refers to (same inode).
bool in_namespace_of(int namespace_fd) {
  struct stat wanted {};
  struct stat current {};
  if (fstat(namespace_fd, &wanted) != 0 || stat("/proc/thread-self/ns/net", &current) != 0) return false;
  return wanted.st_dev == current.st_dev && wanted.st_ino == current.st_ino;
}

}  // namespace

Expected<void, std::string> NfqueueDataplane::in_own_namespace(const std::function<Expected<void, std::string>()>& work) {
  // wardd itself never leaves its namespace: then no thread and no setns (which needs
  // CAP_SYS_ADMIN and is refused under systemd's RestrictNamespaces=).
  if (in_namespace_of(namespace_fd_)) return work();
  Expected<void, std::string> result = unexpected(std::string("not run"));
  std::thread worker([&] {
    if (setns(namespace_fd_, CLONE_NEWNET) != 0) {
      result = unexpected(std::string("cannot enter the dataplane's network namespace: ") + std::strerror(errno));
      return;
    }
    result = work();
  });
  worker.join();
  return result;
}

Expected<void, std::string> NfqueueDataplane::install_filter_table(FilterTable table) {
  std::lock_guard lock(kernel_mutex_);
  // The engine first: packets the new kernel rules queue are then classified by the new table.
  engine_.install_table(table);
  const auto version = engine_.dynamic_filters_version();
  const auto dynamic = engine_.dynamic_filters();
  auto installed = in_own_namespace([&] { return install_chain_rules(table, options_.chains, dynamic); });
  if (installed) {
    kernel_dynamic_version_ = version;
    for (const auto family : {IpFamily::V4, IpFamily::V6}) {
      kernel_dynamic_rules_[static_cast<std::size_t>(family)] = render_dynamic_chain_rules(family, dynamic, options_.chains);
    }
  }
  return installed;
}

Expected<void, std::string> NfqueueDataplane::sync_dynamic_filters() {
  std::lock_guard lock(kernel_mutex_);
  const auto version = engine_.dynamic_filters_version();
  if (version == kernel_dynamic_version_) return {};
  const auto dynamic = engine_.dynamic_filters();
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    auto rules = render_dynamic_chain_rules(family, dynamic, options_.chains);
    auto& loaded = kernel_dynamic_rules_[static_cast<std::size_t>(family)];
    if (rules == loaded) continue;
    if (auto done = in_own_namespace([&] { return load_chain_rules(family, rules); }); !done) {
      return unexpected("the kernel rules of the dynamic filters: " + done.error());
    }
    loaded = std::move(rules);
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

DataplaneCounters NfqueueDataplane::counters() const { return engine_.counters(); }

}  // namespace ward::driver
