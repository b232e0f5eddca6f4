// The dataplane named in ward.conf's [driver] backend, made once at start-up. The only place in
// the agent that names a backend.
//
// auto (the default): xfrm where the kernel does ESP and AH (driver/xfrm/kernel_probe.h: an ESP
// and an AH state added and deleted in a scratch namespace), nfqueue otherwise. The choice and its
// reason are logged and shown by `wardctl show policy`.
// xfrm: kernel policies and SAs; on a kernel without ESP add_sa fails naming the missing support
// (nfqueue is the backend for such kernels).
#pragma once

#include <string>

#include "agent/config/config.h"
#include "common/expected.h"
#include "driver/api/dataplane.h"

namespace ward::agent::daemon {

struct DataplaneChoice {
  driver::DataplanePtr dataplane;
  config::DriverBackend backend = config::DriverBackend::Nfqueue;     // what runs: never Auto
  config::DriverBackend configured = config::DriverBackend::Nfqueue;  // what ward.conf said
  std::string why;  // "configured", or what the kernel said when the configuration says auto
};

// The backend and its options ([driver] queues for nfqueue) come from `config`.
Expected<DataplaneChoice, std::string> make_dataplane(const config::Config& config, driver::DataplaneListener& listener);

}  // namespace ward::agent::daemon
