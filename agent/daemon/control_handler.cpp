#include "agent/daemon/control_handler.h"

#include <algorithm>

#include "agent/daemon/log.h"
#include "agent/explain/explain.h"
#include "directory/model/policy_json.h"
#include "directory/model/validation.h"

namespace ward::agent::daemon {
namespace {

std::int64_t unix_seconds(TimePoint at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// Rules that block instead of negotiating, for explain and show filters.
explain::RuleNotes fail_closed_notes(const Snapshot& snapshot) {
  explain::RuleNotes notes;
  for (const auto& closed : snapshot.offers.fail_closed) notes[closed.rule_index] = "fails closed: " + closed.reason;
  return notes;
}

// Validation warnings, the offers this host leaves out, and the rules that fail closed with the
// packets their filters have blocked since they were installed.
nlohmann::json offers_json(const Snapshot& snapshot, const driver::DataplaneCounters& counters) {
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : snapshot.offers.skipped) skipped.push_back({{"object", s.object}, {"offer", s.text}});
  nlohmann::json closed = nlohmann::json::array();
  for (const auto& rule : snapshot.offers.fail_closed) {
    std::vector<std::uint32_t> ids;
    for (const auto& [id, origin] : snapshot.translation.origins) {
      if (origin.rule_index == rule.rule_index) ids.push_back(id);
    }
    std::uint64_t blocked = 0;
    for (const auto& filter : counters.filters) {
      if (std::find(ids.begin(), ids.end(), filter.filter_id) != ids.end()) blocked += filter.packets;
    }
    closed.push_back({{"rule", rule.rule_name}, {"reason", rule.reason}, {"filter_ids", ids}, {"blocked_packets", blocked}});
  }
  return {{"legacy_algorithms", snapshot.offers.allow_legacy}, {"skipped", skipped}, {"fail_closed", closed}};
}

}  // namespace

control::HandlerResult DaemonHandler::show_policy() {
  const auto snapshot = state_.current();
  nlohmann::json result;
  result["policy"] = snapshot->origin == PolicyOrigin::None
                         ? nlohmann::json::object()
                         : nlohmann::json::parse(model::policy_to_json(snapshot->policy, model::SecretHandling::Redact));
  nlohmann::json source = {{"policy_dn", snapshot->source.policy_dn},   {"gpo_dn", snapshot->source.gpo_dn},
                           {"gpo_name", snapshot->source.gpo_name},     {"som_dn", snapshot->source.som_dn},
                           {"change_stamp", snapshot->source.change_stamp},
                           {"origin", snapshot->source_description}};
  if (snapshot->origin != PolicyOrigin::None) source["fetched_at"] = unix_seconds(snapshot->fetched_at);
  result["source"] = source;
  result["state"] = std::string(name_of(snapshot->origin));
  if (dataplane_choice_) {
    result["dataplane"] = {{"backend", dataplane_choice_->backend}, {"configured", dataplane_choice_->configured}, {"why", dataplane_choice_->why}};
  }
  const ScopeReport& report = snapshot->scope;
  if (!report.directory.empty()) {
    nlohmann::json gpos = nlohmann::json::array();
    for (const auto& gpo : report.gpos) {
      gpos.push_back({{"name", gpo.name}, {"dn", gpo.dn}, {"som_dn", gpo.som_dn}, {"applied", gpo.applied}, {"note", gpo.note}});
    }
    result["scope"] = {{"directory", report.directory},
                       {"computer_dn", report.computer_dn},
                       {"account", report.account},
                       {"site", {{"dn", report.site_dn}, {"from", report.site_from}}},
                       {"gpos", gpos},
                       {"round_trips", report.round_trips}};
  }
  if (snapshot->origin != PolicyOrigin::None) {
    nlohmann::json warnings = nlohmann::json::array();
    for (const auto& problem : model::validate(snapshot->policy)) {
      if (problem.severity != model::Severity::Warning) continue;
      warnings.push_back({{"object", problem.object}, {"field", problem.field}, {"message", problem.message}});
    }
    result["warnings"] = std::move(warnings);
    result["offers"] = offers_json(*snapshot, dataplane_.counters());
  }
  return result;
}

control::HandlerResult DaemonHandler::show_filters(control::FilterView view) {
  const auto snapshot = state_.current();
  if (view == control::FilterView::Generic) {
    return nlohmann::json{{"view", "generic"}, {"filters", explain::generic_filters_json(snapshot->policy)}};
  }
  auto rows = explain::specific_filters_json(snapshot->policy, snapshot->compiled, fail_closed_notes(*snapshot));
  // The driver's id for each row: the handle that acquires, counters and SAs carry; and what the
  // dataplane counted for that filter (permit and block: the kernel filter table's counters).
  const auto counters = dataplane_.counters();
  for (std::size_t i = 0; i < rows.size() && i < snapshot->translation.table.filters.size(); ++i) {
    const auto id = snapshot->translation.table.filters[i].id;
    rows[i]["id"] = id;
    std::uint64_t packets = 0, bytes = 0;
    for (const auto& counted : counters.filters) {
      if (counted.filter_id != id) continue;
      packets += counted.packets;
      bytes += counted.bytes;
    }
    rows[i]["packets"] = packets;
    rows[i]["bytes"] = bytes;
  }
  return nlohmann::json{{"view", "specific"}, {"filters", rows}};
}

control::HandlerResult DaemonHandler::explain(const model::PacketTuple& packet) {
  const auto snapshot = state_.current();
  // What the dataplane holds now: the dynamic filters of default response SAs, soft associations.
  const auto counters = dataplane_.counters();
  explain::LiveState live;
  for (const auto& f : snapshot->translation.table.filters) live.filter_ids.push_back(f.id);
  for (const auto& d : counters.dynamic_filters) {
    const auto origin = snapshot->translation.origins.find(d.filter_id);
    live.dynamic_filters.push_back({d.selector.local, d.selector.remote, d.selector.protocol, d.selector.local_port, d.selector.remote_port,
                                    origin != snapshot->translation.origins.end() ? origin->second.rule_name : std::string()});
  }
  for (const auto& soft : counters.soft_associations) {
    live.soft_associations.push_back({soft.filter_id, soft.peer, soft.expires_in.count()});
  }
  return nlohmann::json(explain::to_json(explain::explain(snapshot->policy, snapshot->compiled, packet, fail_closed_notes(*snapshot), &live)));
}

control::HandlerResult DaemonHandler::show_sa() {
  const auto snapshot = state_.current();
  const auto counters = dataplane_.counters();
  const auto rule_of = [&](std::uint32_t filter_id) {
    const auto origin = snapshot->translation.origins.find(filter_id);
    return origin != snapshot->translation.origins.end() ? origin->second.rule_name : std::string();
  };
  nlohmann::json sas = nlohmann::json::array();
  for (const auto& sa : counters.sas) {
    nlohmann::json row{{"peer", sa.peer.to_string()},
                       {"direction", sa.direction == driver::crypto::Direction::Inbound ? "in" : "out"},
                       {"spi", spi_text(sa.spi)},
                       {"protocol", sa.bundled_ah_spi != 0 ? std::string("AH+ESP") : std::string(driver::crypto::name_of(sa.protocol))},
                       {"state", std::string(ike::service::helpdesk_words(ike::service::NegotiationState::Established))},
                       {"filter_id", sa.filter_id},
                       {"rule", rule_of(sa.filter_id)},
                       {"bytes", sa.bytes},
                       {"packets", sa.packets},
                       {"drops", sa.drops}};
    if (sa.dynamic_filter_id != 0) row["dynamic_filter_id"] = sa.dynamic_filter_id;
    if (sa.bundled_ah_spi != 0) row["ah_spi"] = spi_text(sa.bundled_ah_spi);
    sas.push_back(std::move(row));
  }
  // Windows' soft SAs: no IPsec, the peer did not answer IKE; its traffic passes in clear.
  nlohmann::json soft = nlohmann::json::array();
  for (const auto& association : counters.soft_associations) {
    soft.push_back({{"peer", association.peer.to_string()},
                    {"protocol", "none (clear)"},
                    {"state", std::string(ike::service::helpdesk_words(ike::service::NegotiationState::Soft))},
                    {"internal_state", "SoftAssociation"},
                    {"filter_id", association.filter_id},
                    {"rule", rule_of(association.filter_id)},
                    {"bytes", association.bytes},
                    {"packets", association.packets},
                    {"age_seconds", association.age.count()},
                    {"expires_in_seconds", association.expires_in.count()}});
  }
  // The dynamic filters of default response SAs.
  nlohmann::json dynamic = nlohmann::json::array();
  for (const auto& filter : counters.dynamic_filters) {
    const auto port = [](std::uint16_t p) { return p == 0 ? std::string("any") : std::to_string(p); };
    dynamic.push_back({{"id", filter.id},
                       {"local", filter.selector.local.to_string()},
                       {"remote", filter.selector.remote.to_string()},
                       {"protocol", filter.selector.protocol == 0 ? std::string("any") : std::to_string(filter.selector.protocol)},
                       {"local_port", port(filter.selector.local_port)},
                       {"remote_port", port(filter.selector.remote_port)},
                       {"filter_id", filter.filter_id},
                       {"rule", rule_of(filter.filter_id)},
                       {"sas", filter.sas},
                       {"bytes", filter.bytes},
                       {"packets", filter.packets}});
  }
  nlohmann::json result{{"sas", sas},
                        {"soft_associations", soft},
                        {"dynamic_filters", dynamic},
                        {"dataplane",
                         {{"unsecured_dropped", counters.unsecured_dropped},
                          {"unsecured_accepted", counters.unsecured_accepted},
                          {"blocked", counters.blocked},
                          {"policy_mismatch", counters.policy_mismatch},
                          {"unknown_spi", counters.unknown_spi},
                          {"held", counters.held},
                          {"hold_dropped", counters.hold_dropped},
                          {"acquires", counters.acquires}}}};
  if (!ike_snapshots_) return result;
  // IKE's view: main modes, and quick mode SAs joined with the dataplane's counters.
  auto traffic = [&](std::uint32_t spi, driver::crypto::Direction direction) -> const driver::SaCounters* {
    for (const auto& sa : counters.sas) {
      if (sa.spi == spi && sa.direction == direction) return &sa;
    }
    return nullptr;
  };
  nlohmann::json main_modes = nlohmann::json::array();
  nlohmann::json quick_modes = nlohmann::json::array();
  nlohmann::json negotiating = nlohmann::json::array();
  nlohmann::json failures = nlohmann::json::array();
  nlohmann::json ike_counters = nlohmann::json::array();
  for (const auto& ike : ike_snapshots_()) {
    for (const auto& mm : ike.main_modes) {
      main_modes.push_back({{"ike_version", mm.ike_version},
                            {"peer", mm.peer.to_string()},
                            {"peer_port", mm.peer_port},
                            {"nat_t", mm.nat_t},
                            {"role", mm.role == ike::auth::Role::Initiator ? "initiator" : "responder"},
                            {"state", std::string(ike::service::helpdesk_words(mm.status))},
                            {"internal_state", mm.state},
                            {"cookies", mm.cookies},
                            {"auth_method", mm.auth_method},
                            {"cipher", mm.cipher},
                            {"hash", mm.hash},
                            {"dh_group", mm.group},
                            {"lifetime_left", mm.lifetime_left.count()},
                            {"quick_modes", mm.quick_modes},
                            {"engine", mm.engine}});
    }
    for (const auto& qm : ike.quick_modes) {
      const auto origin = snapshot->translation.origins.find(qm.filter_id);
      nlohmann::json row{{"ike_version", qm.ike_version},
                         {"peer", qm.peer.to_string()},
                         {"role", qm.role == ike::auth::Role::Initiator ? "initiator" : "responder"},
                         {"state", std::string(ike::service::helpdesk_words(ike::service::NegotiationState::Established))},
                         {"filter_id", qm.filter_id},
                         {"rule", origin != snapshot->translation.origins.end() ? origin->second.rule_name : ""},
                         {"default_response", qm.default_response},
                         {"spi_in", spi_text(qm.inbound_spi)},
                         {"spi_out", spi_text(qm.outbound_spi)},
                         {"protocols", qm.esp ? (qm.ah ? "AH+ESP" : "ESP") : "AH"},
                         {"cipher", qm.esp ? std::string(driver::crypto::name_of(qm.cipher)) : std::string("-")},
                         {"integrity", qm.esp ? std::string(driver::crypto::name_of(qm.integrity)) : std::string("-")},
                         {"pfs_group", qm.pfs_group ? static_cast<unsigned>(*qm.pfs_group) : 0U},
                         {"auth_method", qm.auth_method},
                         {"lifetime_left", qm.lifetime_left.count()}};
      if (qm.ah) row["ah_integrity"] = std::string(driver::crypto::name_of(*qm.ah));
      if (qm.inbound_ah_spi != 0) {
        row["ah_spi_in"] = spi_text(qm.inbound_ah_spi);
        row["ah_spi_out"] = spi_text(qm.outbound_ah_spi);
      }
      if (const auto* in = traffic(qm.inbound_spi, driver::crypto::Direction::Inbound)) {
        row["bytes_in"] = in->bytes;
        row["packets_in"] = in->packets;
      }
      if (const auto* out = traffic(qm.outbound_spi, driver::crypto::Direction::Outbound)) {
        row["bytes_out"] = out->bytes;
        row["packets_out"] = out->packets;
      }
      quick_modes.push_back(std::move(row));
    }
    for (const auto& n : ike.negotiating) {
      negotiating.push_back({{"peer", n.peer.to_string()},
                             {"role", n.role == ike::auth::Role::Initiator ? "initiator" : "responder"},
                             {"state", std::string(ike::service::helpdesk_words(n.state == "SoftAssociation"
                                                                                    ? ike::service::NegotiationState::Soft
                                                                                    : ike::service::NegotiationState::Negotiating))},
                             {"internal_state", n.state},
                             {"filter_id", n.filter_id},
                             {"rule", rule_of(n.filter_id)},
                             {"default_response", n.default_response}});
    }
    for (const auto& f : ike.failures) {
      failures.push_back({{"peer", f.peer.to_string()},
                          {"role", f.role == ike::auth::Role::Initiator ? "initiator" : "responder"},
                          {"what", f.main_mode ? "main mode" : "quick mode"},
                          {"state", std::string(ike::service::helpdesk_words(ike::service::NegotiationState::Failed))},
                          {"failure", std::string(ike::service::helpdesk_words(f.kind))},
                          {"failure_kind", std::string(ike::service::name(f.kind))},
                          {"reason", f.reason},
                          {"filter_id", f.filter_id},
                          {"rule", f.filter_id != 0 ? rule_of(f.filter_id) : std::string()},
                          {"age_seconds", f.age.count()}});
    }
    const auto& c = ike.counters;
    ike_counters.push_back({{"engines", ike.engines},
                            {"datagrams_received", c.datagrams_received},
                            {"datagrams_sent", c.datagrams_sent},
                            {"malformed", c.malformed},
                            {"unknown_sa", c.unknown_sa},
                            {"main_mode_1_answered", c.main_mode_1_answered},
                            {"embryonic", c.embryonic},
                            {"embryonic_promoted", c.embryonic_promoted},
                            {"embryonic_evicted", c.embryonic_evicted},
                            {"embryonic_expired", c.embryonic_expired},
                            {"embryonic_lost", c.embryonic_lost},
                            {"embryonic_peer_limit_drops", c.embryonic_peer_limit_drops},
                            {"half_open_limit_drops", c.half_open_limit_drops + c.half_open_peer_limit_drops},
                            {"half_open_timeouts", c.half_open_timeouts},
                            {"ikev2_cookies_sent", c.ikev2_cookies_sent},
                            {"ikev2_cookies_accepted", c.ikev2_cookies_accepted},
                            {"ikev2_cookies_rejected", c.ikev2_cookies_rejected},
                            {"ikev2_fragments_dropped", c.ikev2_fragments_dropped},
                            {"undecryptable_main_mode_5", c.undecryptable_main_mode_5},
                            {"no_policy", c.no_policy},
                            {"acquires", c.acquires},
                            {"acquires_coalesced", c.acquires_coalesced},
                            {"main_modes_established", c.main_modes_established},
                            {"main_modes_failed", c.main_modes_failed},
                            {"quick_modes_established", c.quick_modes_established},
                            {"quick_modes_failed", c.quick_modes_failed},
                            {"deletes_sent", c.deletes_sent},
                            {"deletes_received", c.deletes_received},
                            {"soft_associations", c.soft_associations},
                            {"default_responses", c.default_responses}});
  }
  result["main_modes"] = std::move(main_modes);
  result["quick_modes"] = std::move(quick_modes);
  result["negotiating"] = std::move(negotiating);
  result["failures"] = std::move(failures);
  result["ike"] = std::move(ike_counters);
  return result;
}

control::HandlerResult DaemonHandler::show_events(std::optional<std::int64_t> since_unix) {
  const TimePoint since{std::chrono::seconds(since_unix.value_or(0))};
  auto events = cache_.with([&](cache::Cache& c) { return c.events_since(since, kMaxEventsShown); });
  if (!events) return unexpected("cannot read the event log: " + events.error().message);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& event : *events) {
    nlohmann::json row{{"time", unix_seconds(event.at)},
                       {"kind", std::string(cache::name_of(event.kind))},
                       {"peer", event.peer},
                       {"auth_method", event.auth_method},
                       {"reason", event.reason}};
    if (event.count > 1) {  // aggregated repeats (event_aggregator.h): how many, and the last
      row["count"] = event.count;
      row["last_time"] = unix_seconds(event.last_at);
    }
    rows.push_back(std::move(row));
  }
  return nlohmann::json{{"events", rows}};
}

control::HandlerResult DaemonHandler::refresh() {
  auto outcome = refresh_();
  if (!outcome) return unexpected(outcome.error());
  return nlohmann::json{{"message", *outcome}};
}

control::HandlerResult DaemonHandler::flush() {
  const auto counters = dataplane_.counters();
  std::size_t deleted = 0;
  std::string failures;
  for (const auto& sa : counters.sas) {
    auto removed = dataplane_.delete_sa(sa.spi, sa.direction);
    if (removed) {
      ++deleted;
    } else {
      failures += (failures.empty() ? "" : "; ") + spi_text(sa.spi) + ": " + removed.error();
    }
  }
  std::size_t soft = 0;
  for (const auto& association : counters.soft_associations) {
    if (dataplane_.delete_soft_association(association.filter_id, association.peer)) ++soft;
  }
  const std::string done = "flushed " + std::to_string(deleted) + " SAs" +
                           (soft > 0 ? " and " + std::to_string(soft) + " soft association" + (soft == 1 ? "" : "s") : std::string());
  if (!failures.empty()) return unexpected(done + "; could not delete " + failures);
  return nlohmann::json{{"message", done}};
}

}  // namespace ward::agent::daemon
