// The IKE flood lab shared by wardd_flood_test (assertions) and wardd_flood_harness (figures):
//
//   B 10.20.1.20 ---- veth ---- 10.20.1.10 A 10.20.9.1 ---- veth ---- 10.20.9.2 C
//   (wardd, the real peer)      (wardd, the responder)                 (ike_flood)
//
// A and B run wardd (nfqueue) with one rule: this host <-> 10.20.0.0/16 negotiates ESP
// (AES-256-GCM, PFS) with a preshared key. C forges main mode 1s from 10.20.128.0/17 (inside A's
// policy: each one answered) and from 10.99.0.0/16 (outside it: refused), plus garbage; A routes
// both ranges back to C, where its main mode 2s die (C does not forward). A handshake is measured
// as B sees it: B restarts (a fresh main mode), then B pings A every 200 ms until the first answer:
// the first ping is held in B's dataplane until IKE installs the SA; the later ones cover an echo
// lost on the way (A's queue drops packets when the flood outruns it, as a slow sanitizer build
// on a loaded machine makes it do), so what is measured is the time until traffic flows.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/daemon/wardd_host.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon::testing {

inline constexpr const char* kFloodAddressA = "10.20.1.10";
inline constexpr const char* kFloodAddressB = "10.20.1.20";
inline constexpr const char* kFloodForgedInside = "10.20.128.0/17";
inline constexpr const char* kFloodForgedOutside = "10.99.0.0/16";

// One rule: this host <-> 10.20.0.0/16, ESP AES-256-GCM with PFS, preshared key.
inline model::Policy flood_lab_policy() {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.name = "Flood lab: 10.20.0.0/16 negotiates";
  auto rule = policy.rules[0];
  auto list = *policy.find_filter_list(*rule.filter_list);
  list.filters.resize(1);
  list.filters[0].source = model::AddressSpec::my_address();
  list.filters[0].destination = model::AddressSpec::subnet(*IpPrefix::parse("10.20.0.0/16"));
  auto action = policy.filter_actions[1];   // "Secure traffic outside": AES-256-GCM, then AES-CBC
  action.quick_mode_pfs = true;
  rule.filter_action = action.id;
  rule.auth_methods = {model::AuthMethod::preshared("flood lab secret")};
  policy.filter_lists = {list};
  policy.filter_actions = {action};
  policy.rules = {rule};
  return policy;
}

// "VmRSS: 12345 kB" of /proc/<pid>/status, in kB (0 when unreadable).
inline long vm_rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

class FloodLab {
 public:
  // Builds the namespaces and starts both wardd; `failure` says why not (empty: ready).
  // `a_settings` go at the end of A's ward.conf (in its [ike] section); by default
  // WARD_FLOOD_A_CONF's.
  explicit FloodLab(const std::filesystem::path& dir, std::string& failure, std::optional<std::string> a_settings = std::nullopt) {
    if (!a_settings) a_settings = extra_a_settings(true);
    a_.ns = std::make_unique<ward::testing::Netns>("flood-a");
    b_.ns = std::make_unique<ward::testing::Netns>("flood-b");
    c_ = std::make_unique<ward::testing::Netns>("flood-c");
    ward::testing::connect_veth(*a_.ns, std::string(kFloodAddressA) + "/24", *b_.ns, std::string(kFloodAddressB) + "/24");
    ward::testing::connect_veth(*a_.ns, "10.20.9.1/24", *c_, "10.20.9.2/24");
    if (c_->exec("ip route add default via 10.20.9.1") != 0) {
      failure = "C's default route";
      return;
    }
    for (const char* range : {kFloodForgedInside, kFloodForgedOutside}) {
      if (a_.ns->exec(std::string("ip route add ") + range + " via 10.20.9.2") != 0) {
        failure = std::string("route to ") + range;
        return;
      }
    }
    for (auto* host : {&a_, &b_}) {
      host->dir = dir / (host == &a_ ? "a" : "b");
      std::filesystem::create_directories(host->dir);
      host->socket = host->dir / "run" / "control.sock";
      host->policy_file = host->dir / "policy.json";
      host->config = host->dir / "ward.conf";
      host->log = host->dir / "wardd.log";
      if (!test::write_file(host->config, "[driver]\nbackend = nfqueue\n[control]\nsocket = " + host->socket.string() +
                                              "\n[cache]\npath = " + (host->dir / "state" / "ward.db").string() +
                                              "\n[policy]\nlocal_file = " + host->policy_file.string() +
                                              "\n[log]\nlevel = info\n[ike]\nversion = ikev1\n" + (host == &a_ ? *a_settings : std::string()))) {
        failure = "writing ward.conf";
        return;
      }
    }
    start_wardd(a_, flood_lab_policy());
    start_wardd(b_, flood_lab_policy());
    if (!a_.wardd.running() || !b_.wardd.running()) failure = "wardd did not start: " + test::file_tail(a_.log) + test::file_tail(b_.log);
  }

  // Appended to A's ward.conf (harness only): WARD_FLOOD_A_CONF, e.g. "engines = 2\n[privsep]\nuser = nobody\n"
  // (it starts in A's [ike] section).
  static std::string extra_a_settings(bool is_a) {
    const char* extra = is_a ? std::getenv("WARD_FLOOD_A_CONF") : nullptr;
    return extra != nullptr ? std::string(extra) : std::string();
  }

  WarddHost& a() { return a_; }
  WarddHost& b() { return b_; }
  ward::testing::Netns& c() { return *c_; }

  // ike_flood in C against A for `seconds`; its output goes to `log`.
  test::ChildProcess flood(double mm1_rate, double garbage_rate, double seconds, const std::filesystem::path& log) {
    auto child = test::ChildProcess::spawn({kIpTool, "netns", "exec", c_->name(), IKE_FLOOD_PATH, "--target", kFloodAddressA,
                                            "--spoof", kFloodForgedInside, "--spoof", kFloodForgedOutside, "--mm1-rate",
                                            std::to_string(mm1_rate), "--garbage-rate", std::to_string(garbage_rate),
                                            "--seconds", std::to_string(seconds)},
                                           {}, log);
    return child ? std::move(*child) : test::ChildProcess{};
  }

  // Restarts B's wardd (a new main mode), then pings A from B once: how long until the answer,
  // which comes only after main mode and quick mode completed and the held echo request went out
  // under the new SA. Nothing when no answer came within `limit`.
  std::optional<std::chrono::milliseconds> handshake(std::chrono::seconds limit) {
    b_.wardd.stop();
    start_wardd(b_, flood_lab_policy());
    const auto started = std::chrono::steady_clock::now();
    auto ping = test::ChildProcess::spawn({kIpTool, "netns", "exec", b_.ns->name(), "ping", "-c", "1", "-i", "0.2",
                                           "-w", std::to_string(limit.count()), kFloodAddressA},
                                          {}, b_.dir / "ping.log");
    if (!ping) return std::nullopt;
    while (ping->running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (ping->exit_description() != "exited with status 0") return std::nullopt;
    return took;
  }

  // The responder's IKE counters (`show sa --json`: A runs one service, on 10.20.1.10; its other
  // address 10.20.9.1 has one too, the second entry).
  nlohmann::json a_ike_counters() {
    const auto sa = show_sa(a_);
    if (!sa.contains("ike") || !sa["ike"].is_array() || sa["ike"].empty()) return nlohmann::json::object();
    nlohmann::json total = nlohmann::json::object();
    for (const auto& service : sa["ike"]) {
      for (const auto& [key, value] : service.items()) {
        if (value.is_number_unsigned()) total[key] = total.value(key, std::uint64_t{0}) + value.get<std::uint64_t>();
      }
    }
    return total;
  }

 private:
  WarddHost a_, b_;
  std::unique_ptr<ward::testing::Netns> c_;
};

}  // namespace ward::agent::daemon::testing
