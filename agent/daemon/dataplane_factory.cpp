#include "agent/daemon/dataplane_factory.h"

#include "agent/daemon/lifetime_limit.h"
#include "driver/nfqueue/nfqueue_dataplane.h"
#include "driver/sim/sim_dataplane.h"
#include "driver/xfrm/kernel_probe.h"
#include "driver/xfrm/xfrm_dataplane.h"

namespace ward::agent::daemon {

namespace {

// `detail`: what the backend adds to why it was chosen (where permit and block are decided; what of
// the nfqueue fast path runs, and why a part does not).
Expected<driver::DataplanePtr, std::string> start(config::DriverBackend backend, const config::Config& config,
                                                  driver::DataplaneListener& listener, std::string& detail) {
  switch (backend) {
    case config::DriverBackend::Sim: return driver::DataplanePtr(std::make_unique<driver::SimDataplane>(listener));
    case config::DriverBackend::Nfqueue: {
      driver::NfqueueOptions options;
      options.kernel.queue_count = config.driver_queues;
      options.tcp_segmentation = options.tun_injection = options.esp_ring = config.driver_fast_path;
      auto started = driver::NfqueueDataplane::start(listener, std::move(options));
      if (!started) return unexpected("nfqueue: " + started.error());
      if (config.driver_fast_path) detail = "; [driver] fast_path = yes: " + (*started)->fast_path_status();
      return driver::DataplanePtr(std::move(*started));
    }
    case config::DriverBackend::Xfrm: {
      auto started = driver::XfrmDataplane::start(listener);
      if (!started) return unexpected(started.error());  // already says "xfrm: ..."
      if (const auto& placement = (*started)->filter_placement(); !placement.empty()) detail = "; permit and block: " + placement;
      return driver::DataplanePtr(std::move(*started));
    }
    case config::DriverBackend::Auto: break;
  }
  return unexpected(std::string("no dataplane for driver backend ") + std::string(config::name_of(backend)));
}

}  // namespace

Expected<DataplaneChoice, std::string> make_dataplane(const config::Config& config, driver::DataplaneListener& listener) {
  DataplaneChoice choice;
  choice.configured = config.driver;
  choice.backend = config.driver;
  choice.why = "configured ([driver] backend = " + std::string(config::name_of(config.driver)) + ")";
  if (config.driver == config::DriverBackend::Auto) {
    const auto probe = driver::xfrm::probe_kernel_ipsec();
    const bool kernel = probe.esp && probe.ah;
    choice.backend = kernel ? config::DriverBackend::Xfrm : config::DriverBackend::Nfqueue;
    choice.why = "[driver] backend = auto: " + probe.detail + (kernel ? ": the kernel does ESP and AH" : ": Ward's userspace ESP and AH");
  }
  std::string detail;
  auto started = start(choice.backend, config, listener, detail);
  if (!started) return unexpected(started.error());
  choice.why += detail;
  choice.dataplane = std::move(*started);
  if (config.driver_sa_lifetime_limit) {
    choice.dataplane = std::make_unique<LifetimeLimitedDataplane>(std::move(choice.dataplane), *config.driver_sa_lifetime_limit);
    choice.why += "; SA lifetimes limited to " + std::to_string(config.driver_sa_lifetime_limit->count()) + "s";
  }
  return choice;
}

}  // namespace ward::agent::daemon
