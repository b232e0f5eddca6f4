// The dataplane named in ward.conf's [driver] backend, made once at start-up. The only place in
// the agent that names a backend.
//
// xfrm: kernel policies from the table; kernel SAs only where the kernel has ESP (otherwise add_sa
// fails naming the missing kernel support; nfqueue is the backend for such kernels).
#pragma once

#include <string>

#include "agent/config/config.h"
#include "common/expected.h"
#include "driver/api/dataplane.h"

namespace ward::agent::daemon {

// The backend and its options ([driver] queues for nfqueue) come from `config`.
Expected<driver::DataplanePtr, std::string> make_dataplane(const config::Config& config,
                                                          driver::DataplaneListener& listener);

}  // namespace ward::agent::daemon
