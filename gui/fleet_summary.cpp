#include "gui/fleet_summary.h"

namespace ward::gui {

namespace {

const nlohmann::json& array_of(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (!object.is_object() || !object.contains(key) || !object[key].is_array()) return kEmpty;
  return object[key];
}

std::string text(const nlohmann::json& row, const char* key) {
  return row.is_object() && row.contains(key) && row[key].is_string() ? row[key].get<std::string>() : std::string();
}

}  // namespace

FleetSummary summarize(const nlohmann::json& show_sa, const nlohmann::json& show_policy) {
  FleetSummary out;
  const auto policy = show_policy.is_object() ? show_policy.value("policy", nlohmann::json::object()) : nlohmann::json::object();
  out.policy = QString::fromStdString(text(policy, "name"));
  if (out.policy.isEmpty()) out.policy = "(none)";
  out.policy_state = QString::fromStdString(text(show_policy, "state"));
  for (const auto& mm : array_of(show_sa, "main_modes")) {
    const std::string state = text(mm, "state");
    if (state == "established") ++out.main_modes;
    else if (state == "negotiating") ++out.negotiating;
  }
  out.negotiating += static_cast<int>(array_of(show_sa, "negotiating").size());
  for (const auto& sa : array_of(show_sa, "sas")) {
    ++out.quick_modes;
    if (sa.contains("bytes") && sa["bytes"].is_number_unsigned()) out.bytes += sa["bytes"].get<std::uint64_t>();
  }
  out.soft = static_cast<int>(array_of(show_sa, "soft_associations").size());
  out.failures = static_cast<int>(array_of(show_sa, "failures").size());
  return out;
}

nlohmann::json rows_with_peer(const nlohmann::json& show_sa, const QString& peer) {
  nlohmann::json out = nlohmann::json::array();
  const std::string wanted = peer.trimmed().toStdString();
  const auto add = [&](const char* key, const char* kind) {
    for (const auto& row : array_of(show_sa, key)) {
      if (!row.is_object() || (!wanted.empty() && text(row, "peer") != wanted)) continue;
      nlohmann::json copy = row;
      copy["kind"] = kind;
      out.push_back(std::move(copy));
    }
  };
  add("main_modes", "main mode");
  add("sas", "quick mode SA");
  add("soft_associations", "soft association");
  add("failures", "failed");
  return out;
}

}  // namespace ward::gui
