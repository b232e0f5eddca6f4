// The cache behind a mutex: the main loop (refreshes), the control handler (show events) and the
// dataplane's threads (acquire events) all use it, and Cache itself is not thread-safe.
#pragma once

#include <mutex>
#include <utility>

#include "agent/cache/cache.h"

namespace ward::agent::daemon {

class SharedCache {
 public:
  explicit SharedCache(cache::Cache cache) : cache_(std::move(cache)) {}

  template <typename Work>
  auto with(Work&& work) {
    std::lock_guard lock(mutex_);
    return std::forward<Work>(work)(cache_);
  }

 private:
  std::mutex mutex_;
  cache::Cache cache_;
};

}  // namespace ward::agent::daemon
