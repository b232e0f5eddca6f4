// What the remote monitor may ask: everything that only looks. refresh and flush change the
// host's state and stay on the local control socket (root or group ward on the host itself).
#pragma once

#include <string>

#include "agent/control/handler.h"

namespace ward::agent::monitor {

inline constexpr std::string_view kReadOnlyRefusal =
    "the remote monitor is read-only: run this with wardctl on the host itself";

class ReadOnlyHandler final : public control::ControlHandler {
 public:
  explicit ReadOnlyHandler(control::ControlHandler& inner) : inner_(inner) {}

  control::HandlerResult show_policy() override { return inner_.show_policy(); }
  control::HandlerResult show_filters(control::FilterView view) override { return inner_.show_filters(view); }
  control::HandlerResult explain(const model::PacketTuple& packet) override { return inner_.explain(packet); }
  control::HandlerResult show_sa() override { return inner_.show_sa(); }
  control::HandlerResult show_events(std::optional<std::int64_t> since_unix) override {
    return inner_.show_events(since_unix);
  }
  control::HandlerResult refresh() override { return unexpected(std::string(kReadOnlyRefusal)); }
  control::HandlerResult flush() override { return unexpected(std::string(kReadOnlyRefusal)); }

 private:
  control::ControlHandler& inner_;
};

}  // namespace ward::agent::monitor
