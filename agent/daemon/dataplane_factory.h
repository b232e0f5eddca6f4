// The dataplane named in ward.conf's [driver] backend, made once at start-up. The only place in
// the agent that names a backend.
//
// xfrm: driver/xfrm has the kernel SPD/SAD functions but no Dataplane implementation yet, so
// wardd refuses it at start-up with that message instead of failing later.
#pragma once

#include <string>

#include "agent/config/config.h"
#include "common/expected.h"
#include "driver/api/dataplane.h"

namespace ward::agent::daemon {

Expected<driver::DataplanePtr, std::string> make_dataplane(config::DriverBackend backend,
                                                          driver::DataplaneListener& listener);

}  // namespace ward::agent::daemon
