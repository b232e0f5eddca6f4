#include "agent/ikeproc/alike_events.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace ward::agent::ikeproc {

namespace {

std::string alike_key(const ike::service::IkeEvent& e) {
  return std::to_string(static_cast<int>(e.kind)) + '/' + std::to_string(static_cast<int>(e.role)) + '/' +
         std::to_string(static_cast<int>(e.failure)) + '/' + std::to_string(e.filter_id) + '/' + e.auth_method + '/' +
         ike::service::reason_without_peer(e);
}

}  // namespace

AlikeEventBatcher::AlikeEventBatcher(SendEvent send_event, SendAlike send_alike, std::chrono::milliseconds interval)
    : send_event_(std::move(send_event)), send_alike_(std::move(send_alike)), interval_(interval), flusher_([this] { run(); }) {}

AlikeEventBatcher::~AlikeEventBatcher() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  flusher_.join();
  flush();
}

void AlikeEventBatcher::on_event(const ike::service::IkeEvent& event) {
  if (!event.unverified) {
    send_event_(event);
    return;
  }
  bool first = false;
  bool full = false;
  {
    const std::lock_guard lock(mutex_);
    auto [it, inserted] = counted_.try_emplace(alike_key(event));
    first = inserted;
    if (!inserted) {
      it->second.last = event;
      it->second.repeats = std::min(it->second.repeats + 1, kMaxAlikeEvents);
    }
    full = counted_.size() >= kMaxKinds;
  }
  if (first) send_event_(event);
  if (full) flush();
}

void AlikeEventBatcher::flush() {
  std::map<std::string, Counted> counted;
  {
    const std::lock_guard lock(mutex_);
    counted.swap(counted_);
  }
  for (auto& [key, c] : counted) {
    if (c.repeats == 0) continue;
    AlikeEvents alike;
    alike.last = std::move(c.last);
    alike.count.value = c.repeats;
    send_alike_(alike);
  }
}

void AlikeEventBatcher::run() {
  std::unique_lock lock(mutex_);
  while (!stop_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    flush();
    lock.lock();
  }
}

}  // namespace ward::agent::ikeproc
