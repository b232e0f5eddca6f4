// wardd's ControlHandler: answers the control socket from the enforced snapshot (policy, tables),
// the cache (events) and the dataplane (SA counters, flush). Refresh is delegated to the caller's
// function (the PolicyUpdater in wardd), so this class only reads and renders; a refresh whose
// policy was rejected or whose source was unavailable answers with an error saying what is kept.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "agent/control/handler.h"
#include "agent/daemon/agent_state.h"
#include "agent/daemon/shared_cache.h"
#include "driver/api/dataplane.h"
#include "ike/service/ike_service.h"

namespace ward::agent::daemon {

inline constexpr std::size_t kMaxEventsShown = 1000;

class DaemonHandler final : public control::ControlHandler {
 public:
  using Refresh = std::function<Expected<std::string, std::string>()>;

  // The IKE services' snapshots (one per local address), for `show sa`.
  using IkeSnapshots = std::function<std::vector<ike::service::IkeSnapshot>()>;

  DaemonHandler(const AgentState& state, SharedCache& cache, driver::Dataplane& dataplane, Refresh refresh)
      : state_(state), cache_(cache), dataplane_(dataplane), refresh_(std::move(refresh)) {}

  // Without it (no IKE running) `show sa` lists the dataplane's SAs only.
  void set_ike_snapshots(IkeSnapshots snapshots) { ike_snapshots_ = std::move(snapshots); }

  // Which dataplane runs and why ([driver] backend = auto decides at start-up), for `show policy`.
  struct DataplaneChoice {
    std::string backend;
    std::string configured;
    std::string why;
  };
  void set_dataplane_choice(DataplaneChoice choice) { dataplane_choice_ = std::move(choice); }

  control::HandlerResult show_policy() override;
  control::HandlerResult show_filters(control::FilterView view) override;
  control::HandlerResult explain(const model::PacketTuple& packet) override;
  control::HandlerResult show_sa() override;
  control::HandlerResult show_events(std::optional<std::int64_t> since_unix) override;
  control::HandlerResult refresh() override;
  control::HandlerResult flush() override;

 private:
  const AgentState& state_;
  SharedCache& cache_;
  driver::Dataplane& dataplane_;
  Refresh refresh_;
  IkeSnapshots ike_snapshots_;
  std::optional<DataplaneChoice> dataplane_choice_;
};

}  // namespace ward::agent::daemon
