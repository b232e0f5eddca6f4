#include "agent/daemon/dataplane_factory.h"

#include "driver/nfqueue/nfqueue_dataplane.h"
#include "driver/sim/sim_dataplane.h"
#include "driver/xfrm/xfrm_dataplane.h"

namespace ward::agent::daemon {

Expected<driver::DataplanePtr, std::string> make_dataplane(const config::Config& config,
                                                          driver::DataplaneListener& listener) {
  switch (config.driver) {
    case config::DriverBackend::Sim: return driver::DataplanePtr(std::make_unique<driver::SimDataplane>(listener));
    case config::DriverBackend::Nfqueue: {
      driver::NfqueueOptions options;
      options.kernel.queue_count = config.driver_queues;
      options.tcp_segmentation = options.tun_injection = options.esp_ring = config.driver_fast_path;
      auto started = driver::NfqueueDataplane::start(listener, std::move(options));
      if (!started) return unexpected("nfqueue: " + started.error());
      return driver::DataplanePtr(std::move(*started));
    }
    case config::DriverBackend::Xfrm: {
      auto started = driver::XfrmDataplane::start(listener);
      if (!started) return unexpected(started.error());  // already says "xfrm: ..."
      return driver::DataplanePtr(std::move(*started));
    }
  }
  return unexpected(std::string("unknown driver backend ") + std::to_string(static_cast<int>(config.driver)));
}

}  // namespace ward::agent::daemon
