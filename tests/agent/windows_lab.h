// A Windows domain's IPsec defaults in network namespaces: eight hosts on one bridge, two per
// policy (Secure Server, Server (Request Security), Client (Respond Only), none), each running
// wardd with the nfqueue backend; one real MIT krb5kdc and one slapd (Ward's AD-layout schema)
// in the root namespace, reached from the hosts through socat relays on their loopback (as in
// demo/ward-lab.sh). The policies are assigned through GPOs linked to one OU per policy; the
// fourth OU links none, so its hosts enforce no policy. IKE authenticates with Kerberos, the peer
// found by name (/etc/netns/<namespace>/hosts).
//
// Policies (PolicySet):
//   WindowsBlobs  the three default policies exactly as Windows wrote them
//                 (tests/data/ad/windows-default-ipsec.ldif, only the AD attribute
//                 isCriticalSystemObject left out, which Ward's schema does not carry)
//   LookAlikes    the same three decoded from those blobs (directory/adblob's policy_from_ad) with
//                 only the algorithms replaced by modern ones and fresh GUIDs, written back with
//                 Ward's own writer: same rules, filters, pass-through, fallback, default response
//
// A tshark capture on the bridge records every packet between the hosts for the checks.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.h"
#include "directory/model/policy.h"
#include "tests/harness/kdc_instance.h"
#include "tests/harness/process.h"
#include "tests/harness/slapd_instance.h"
#include "tests/netns/netns.h"

namespace ward::test::windows {

enum class Role : std::uint8_t { Secure, Request, RespondOnly, NoPolicy };
std::string_view name_of(Role role) noexcept;  // "Secure Server", ...

enum class PolicySet : std::uint8_t { WindowsBlobs, LookAlikes };

inline constexpr const char* kDomainDn = "DC=samba,DC=example,DC=com";  // the blobs' own
inline constexpr const char* kRealm = "SAMBA.EXAMPLE.COM";
inline constexpr const char* kDnsDomain = "samba.example.com";
inline constexpr std::uint16_t kTcpPort = 5001;

// The three Windows default policies decoded from their blobs (policy_from_ad), by role.
Expected<std::vector<std::pair<Role, model::Policy>>, std::string> windows_default_policies(const std::filesystem::path& source_dir);
// The same with modern algorithms and fresh GUIDs (the look-alikes).
model::Policy look_alike(model::Policy windows_policy);

struct Host {
  Role role = Role::NoPolicy;
  std::string name;     // s1, r2, c1, n2 ...
  std::string address;  // 10.40.0.x
  std::unique_ptr<ward::testing::Netns> ns;
  std::filesystem::path dir, socket, log;
  ChildProcess wardd;
};

class Lab {
 public:
  // Everything started and every wardd's policy applied (or "none" for the no-policy hosts).
  static Expected<std::unique_ptr<Lab>, std::string> start(PolicySet set, const std::filesystem::path& source_dir);
  ~Lab();  // wardds stopped by SIGTERM, then the capture, relays, namespaces and services
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  Host& host(Role role, int index);  // index 1 or 2
  std::vector<Host>& hosts() { return hosts_; }

  // `wardctl --json <command>` against a host's socket (null on failure); the text form.
  nlohmann::json wardctl_json(const Host& host, const std::string& command) const;
  std::string wardctl_text(const Host& host, const std::string& command) const;

  // Ends the bridge capture and returns it as lines "src,dst,proto,udp dport,tcp flags,tcp len".
  std::vector<std::string> finish_capture();
  // Stops every wardd (SIGTERM: SAs deleted, peers told, kernel rules removed) and returns what
  // their logs say a sanitizer found (the asan preset reports on stderr, which is the log).
  std::string stop_wardds();
  std::string logs_tail(std::size_t bytes_per_host = 1500) const;

 private:
  Lab() = default;
  Expected<void, std::string> start_services(PolicySet set, const std::filesystem::path& source_dir);
  Expected<void, std::string> assign_policies(const std::vector<std::pair<Role, std::string>>& policy_dns);
  Expected<void, std::string> start_hosts();

  std::optional<TempDir> dir_;
  std::unique_ptr<KdcInstance> kdc_;
  std::unique_ptr<SlapdInstance> slapd_;
  std::unique_ptr<ward::testing::Netns> switch_;
  ChildProcess kdc_relay_;
  ChildProcess capture_;
  std::filesystem::path capture_file_;
  std::vector<Host> hosts_;
  std::vector<ChildProcess> relays_;
};

}  // namespace ward::test::windows
