// For tests: a ControlHandler over the Legal example policy (with a preshared key added, to check
// redaction end to end), compiled for host 10.20.1.5, with canned SAs and events. A fake because
// the daemon it stands for is assembled from the directory, driver and IKE parts elsewhere.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "agent/control/handler.h"
#include "agent/explain/explain.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"

namespace ward::agent::control::testing {

inline constexpr const char* kFakePresharedKey = "fake-psk-never-shown-7f3a";

class FakeHandler : public ControlHandler {
 public:
  FakeHandler() : policy_(model::testing::load_example_policy("legal-policy.json")) {
    policy_.rules[1].auth_methods.push_back(model::AuthMethod::preshared(kFakePresharedKey));
    model::HostContext host;
    host.addresses = {*IpAddress::parse("10.20.1.5")};
    table_ = model::compile(policy_, host);
  }

  HandlerResult show_policy() override {
    ++calls;
    nlohmann::json result;
    result["policy"] = nlohmann::json::parse(model::policy_to_json(policy_, model::SecretHandling::Redact));
    result["source"] = {{"policy_dn", "CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE},CN=IP Security,CN=System,DC=example,DC=com"},
                        {"gpo_dn", "CN={6AC1786C-016F-11D2-945F-00C04FB984F9},CN=Policies,CN=System,DC=example,DC=com"},
                        {"gpo_name", "Legal IPsec"},
                        {"som_dn", "OU=Legal,DC=example,DC=com"},
                        {"change_stamp", "20261125143000.0Z"},
                        {"fetched_at", 1800000000}};
    result["state"] = "directory";
    result["dataplane"] = {{"backend", "xfrm"}, {"configured", "auto"},
                           {"why", "[driver] backend = auto: the kernel accepted an ESP state (rfc4106(gcm(aes))) and an AH state "
                                   "(hmac(sha256)) in a scratch network namespace: the kernel does ESP and AH"}};
    // What wardd adds for a policy with weak offers (control_handler.cpp).
    const std::string des = "key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken";
    result["warnings"] = nlohmann::json::array(
        {{{"object", "key exchange settings of policy \"Communication for the Legal Department\""}, {"field", "methods[2]"}, {"message", des}},
         {{"object", "filter list \"Unused\""}, {"field", ""}, {"message", "no rule uses it"}}});
    result["offers"] = {
        {"legacy_algorithms", true},
        {"skipped", nlohmann::json::array({{{"object", "key exchange settings"}, {"offer", des}}})},
        {"fail_closed", nlohmann::json::array({{{"rule", "Legal intra-department communications"},
                                                {"reason", "filter action \"Secure traffic within the Legal department\" has no usable security method"},
                                                {"filter_ids", {1, 2}},
                                                {"blocked_packets", 7}}})}};
    return result;
  }
  HandlerResult show_filters(FilterView view) override {
    ++calls;
    if (view == FilterView::Generic) return nlohmann::json{{"view", "generic"}, {"filters", explain::generic_filters_json(policy_)}};
    return nlohmann::json{{"view", "specific"}, {"filters", explain::specific_filters_json(policy_, table_)}};
  }
  HandlerResult explain(const model::PacketTuple& packet) override {
    ++calls;
    return nlohmann::json(explain::to_json(explain::explain(policy_, table_, packet)));
  }
  HandlerResult show_sa() override {
    ++calls;
    nlohmann::json sa = {{"peer", "10.20.1.7"}, {"direction", "out"}, {"spi", "0xc0ffee01"}, {"protocol", "esp"},
                         {"mode", "transport"}, {"cipher", "null"}, {"integrity", "sha256"},
                         {"rule", "Legal intra-department communications"}, {"bytes", 123456}, {"packets", 321},
                         {"age_seconds", 120}, {"expires_in_seconds", 3480}};
    nlohmann::json in = sa;
    in["direction"] = "in";
    in["spi"] = "0xc0ffee02";
    nlohmann::json result{{"sas", {sa, in}}};
    if (!with_ike) return result;
    // As wardd answers with IKE running: states in the helpdesk's words, the machines' in internal_state.
    result["main_modes"] = {{{"ike_version", 1}, {"peer", "10.20.1.7"}, {"role", "initiator"}, {"state", "established"},
                             {"internal_state", "MainMode6Received"}, {"auth_method", "Kerberos"}, {"cipher", "AES-CBC-256"},
                             {"hash", "SHA2-256"}, {"dh_group", 19}, {"lifetime_left", 28000}, {"quick_modes", 1}},
                            {{"ike_version", 2}, {"peer", "10.20.1.8"}, {"role", "initiator"}, {"state", "negotiating"},
                             {"internal_state", "IkeSaInitSent"}, {"auth_method", "pre-shared key"}, {"quick_modes", 0}}};
    result["quick_modes"] = {{{"peer", "10.20.1.7"}, {"role", "responder"}, {"state", "established"},
                              {"rule", "<Dynamic> default response"}, {"default_response", true}, {"spi_in", "0xc0ffee02"},
                              {"spi_out", "0xc0ffee01"}, {"cipher", "AES-GCM-256"}, {"integrity", "none"}, {"pfs_group", 0},
                              {"lifetime_left", 3400}, {"bytes_in", 10}, {"bytes_out", 20}, {"packets_in", 1}, {"packets_out", 2}}};
    result["negotiating"] = {{{"peer", "10.20.1.8"}, {"role", "initiator"}, {"state", "negotiating"},
                              {"internal_state", "WaitingForMainMode"}, {"rule", "Legal intra-department communications"}}};
    result["soft_associations"] = {{{"peer", "10.30.4.9"}, {"protocol", "none (clear)"},
                                    {"state", "soft (no IPsec: peer did not answer IKE)"}, {"internal_state", "SoftAssociation"},
                                    {"rule", "Inter-department communications"}, {"packets", 7}, {"bytes", 700},
                                    {"age_seconds", 12}, {"expires_in_seconds", 298}}};
    result["failures"] = {{{"peer", "10.30.4.10"}, {"what", "main mode"}, {"role", "initiator"}, {"state", "failed"},
                           {"failure", "no response from peer"}, {"failure_kind", "no-response"},
                           {"reason", "no answer after 3 sends in state MainMode1Sent"}, {"age_seconds", 40},
                           {"rule", "Inter-department communications"}}};
    return result;
  }
  HandlerResult show_events(std::optional<std::int64_t> since) override {
    ++calls;
    last_since = since;
    nlohmann::json events = nlohmann::json::array();
    events.push_back({{"time", 1800000000}, {"kind", "policy-applied"}, {"peer", ""}, {"auth_method", ""},
                      {"reason", "policy \"Communication for the Legal Department\" from ldap://dc1.example.com"}});
    events.push_back({{"time", 1800000600}, {"kind", "ike-failure"}, {"peer", "10.30.4.9"}, {"auth_method", "kerberos"},
                      {"reason", "no proposal chosen"}, {"count", 10000}, {"last_time", 1800000660}});
    return nlohmann::json{{"events", events}};
  }
  HandlerResult refresh() override {
    ++calls;
    if (fail_refresh) return unexpected(std::string("directory unreachable: ldap://dc1.example.com: timeout"));
    if (slow_refresh) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    refresh_entered = true;
    while (hold_refresh) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return nlohmann::json{{"message", "policy refreshed: unchanged (20261125143000.0Z)"}};
  }
  std::atomic<bool> with_ike{false};  // show_sa answers as wardd with IKE running
  HandlerResult flush() override {
    ++calls;
    return nlohmann::json{{"message", "flushed 2 SAs"}};
  }

  std::atomic<int> calls{0};
  std::optional<std::int64_t> last_since;
  bool fail_refresh = false;
  bool slow_refresh = false;
  std::atomic<bool> hold_refresh{false};  // refresh() waits while set, as on a directory that hangs
  std::atomic<bool> refresh_entered{false};

 private:
  model::Policy policy_;
  model::CompiledTable table_;
};

}  // namespace ward::agent::control::testing
