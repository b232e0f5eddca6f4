// The [monitor] endpoint of ward.conf: the read-only TLS view for remote helpdesk (agent/monitor).
#pragma once

#include <memory>
#include <string>

#include "agent/config/config.h"
#include "agent/control/handler.h"
#include "agent/daemon/log.h"
#include "agent/monitor/monitor_server.h"
#include "common/expected.h"

namespace ward::agent::daemon {

// Null when [monitor] is not enabled (the default). `handler` must outlive the server.
Expected<std::unique_ptr<monitor::MonitorServer>, std::string> start_monitor(const config::MonitorSettings& settings,
                                                                              control::ControlHandler& handler,
                                                                              Logger& log);

}  // namespace ward::agent::daemon
