#include "agent/daemon/monitor_endpoint.h"

namespace ward::agent::daemon {

Expected<std::unique_ptr<monitor::MonitorServer>, std::string> start_monitor(const config::MonitorSettings& settings,
                                                                              control::ControlHandler& handler,
                                                                              Logger& log) {
  if (!settings.enabled) return std::unique_ptr<monitor::MonitorServer>();
  monitor::MonitorOptions options;
  options.listen = settings.listen;
  options.tls = {settings.tls_cert, settings.tls_key, settings.tls_ca};
  options.log = [&log](std::string_view line) { log.info("monitor", {{"message", std::string(line)}}); };
  auto server = monitor::MonitorServer::start(std::move(options), handler);
  if (!server) return unexpected(server.error());
  log.info("monitor-listening", {{"listen", settings.listen}, {"port", std::to_string((*server)->port())}});
  return std::move(*server);
}

}  // namespace ward::agent::daemon
