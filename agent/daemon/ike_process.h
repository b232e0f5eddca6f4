// IKE in wardd: the bridge over the enforced policy and one IkeService per local address, either
// in wardd itself (IkeInProcess) or in a process of its own (IkeProcess, ward.conf [privsep] user).
//
// IkeProcess is the parent's half of the split (OpenBSD iked's parent <-> ikev2): wardd binds
// UDP 500/4500 (CAP_NET_BIND_SERVICE stays here) and keeps the sockets, the dataplane
// (CAP_NET_ADMIN), the policy and the preshared keys; the child (agent/ikeproc/ike_child.h, started
// and restarted by a privsep Supervisor) parses every datagram, runs the exchanges, and asks:
//   policy   quick mode answers of the PolicyBridge; phase 1 the child answers from the table
//            wardd sends with each policy (ike_phase1_table.h); preshared keys as handles
//   keys     SKEYID = prf(key, Ni_b | Nr_b) for a preshared key's handle, an RSA signature of a
//            hash with the certificate's key, the GSS-API steps of Kerberos (ikeproc/gss_service.h;
//            forwarded to the key process: key_kerberos.h): no key ever reaches the child (a
//            child that was
//            taken over can use them while it runs, as any IKE process can, but not take them)
//   SAs      add_sa / delete_sa / counters on the real dataplane; wardd installs only what the
//            policy negotiates with a peer the child reported authenticated (ikebridge/sa_admission.h,
//            refused: `ike-sa-refused`) and remembers what the child installed
//   SPIs     allocate_spi / release_spi: inbound SPIs only for a peer the child reported
//            authenticated, at most kMaxReservedSpis at a time; an inbound SA must use SPIs the
//            child reserved for that peer, and only those are released (refused: `ike-spi-refused`)
// When the child dies, wardd logs how (`ike-process-exited`), removes the SAs it had installed
// (their keys died with it, and the new child could not rekey them; the filter table stays, so
// their traffic is held or blocked, never sent in clear) and starts a new child, which gets the
// sockets again and negotiates afresh on the next acquire.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/daemon/acquire_listener.h"
#include "agent/daemon/agent_state.h"
#include "agent/daemon/key_process.h"
#include "agent/daemon/log.h"
#include "agent/ikebridge/ike_bridge.h"
#include "agent/ikeproc/gss_service.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/supervisor.h"
#include "ike/net/udp_socket.h"
#include "ike/service/ike_service.h"

namespace ward::agent::ikeproc {
struct ServiceStart;
struct RemoteAuth;
}

namespace ward::agent::daemon {

// IKE retransmission: 0.5 s, 1 s, 2 s, then give up 4 s after the last send (7.5 s in all), so
// a peer that never answers is reported well before an application's own timeout.
inline constexpr ike::sa::RetransmitPolicy kIkeRetransmit{std::chrono::milliseconds(500), 2, 4};

// Inbound SPIs the IKE process may hold reserved at once (each quick mode in flight holds one or
// two), and how long wardd remembers one that was neither installed nor released (the dataplane's
// reservation has expired long before: 120 s in the engine, 30 s in the kernel).
inline constexpr std::size_t kMaxReservedSpis = 1024;
inline constexpr std::chrono::minutes kReservedSpiMemory{5};
// IKEv2's initiator names its inbound SPI in IKE_AUTH, before the peer has authenticated: for a
// peer the dataplane asked to negotiate with (an acquire or an expiry wardd passed on within
// kReservedSpiMemory) the child may hold this many SPIs without an authenticated IKE SA.
inline constexpr std::size_t kMaxSpisBeforeAuthentication = 4;

// [ike] version (ward.conf) as the IKE service takes it.
inline ike::service::IkeVersionPolicy ike_version_policy(config::IkeVersion version) {
  switch (version) {
    case config::IkeVersion::Ikev1: return ike::service::IkeVersionPolicy::Ikev1;
    case config::IkeVersion::Ikev2: return ike::service::IkeVersionPolicy::Ikev2;
    case config::IkeVersion::Ikev2First: break;
  }
  return ike::service::IkeVersionPolicy::Ikev2First;
}

class IkeRunner {
 public:
  virtual ~IkeRunner() = default;
  virtual void start(const std::vector<IpAddress>& addresses, driver::Dataplane& dataplane) = 0;
  // After every policy refresh: a new snapshot replaces the bridge's, and SAs of filters that
  // went away are deleted (with DELETE notifications).
  virtual void sync(const AgentState& state) = 0;
  // Reloaded [certificates] (certificate_reload.h): main modes that start from now on use them;
  // established SAs stay.
  virtual void replace_certificates(ikebridge::CertificateCredentialsPtr certificates) = 0;
  // The host's addresses changed (wardd's address poll): IKE starts on those that appeared and
  // stops on those that went away (their SAs are deleted). start() runs it for the first set.
  virtual void readdress(const std::vector<IpAddress>& addresses) = 0;
  virtual std::vector<ike::service::IkeSnapshot> snapshots() const = 0;
  virtual bool running() const = 0;
  // Detaches from the dataplane's acquires, then deletes every SA (peers are told).
  virtual void stop() = 0;
};

// The addresses IKE runs on: not loopback, not IPv6 link-local (a socket bound to one needs the
// interface's scope id, which the host's address list does not carry). Logs those left out.
std::vector<IpAddress> ike_addresses(const std::vector<IpAddress>& addresses, Logger& log);

// Keeps the policy's snapshots for a PolicyBridge and says which filters' SAs survive a refresh.
class BridgeSync {
 public:
  // Null when nothing changed; otherwise the filters whose SAs stay (nullopt the first time).
  std::optional<std::optional<std::vector<std::uint32_t>>> update(const AgentState& state, ikebridge::PolicyBridge& bridge);

 private:
  std::shared_ptr<const Snapshot> applied_;
  std::shared_ptr<const ikebridge::BridgeSnapshot> bridged_;
};

// Preshared keys by handle, for a child that must not see them. A key keeps its handle for
// wardd's lifetime (a handle is found again from prf(key, constant), which only wardd computes).
class KeyHandles {
 public:
  // Told each new handle and its key's provider (wardd's key process gets the key: key_process.h).
  using NewKey = std::function<void(std::uint32_t handle, const ikebridge::AuthProviderPtr& provider)>;
  void on_new_key(NewKey new_key);
  std::uint32_t handle_for(const ikebridge::AuthProviderPtr& provider);
  ikebridge::AuthProviderPtr provider(std::uint32_t handle) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint32_t> by_fingerprint_;
  std::vector<ikebridge::AuthProviderPtr> providers_;   // handle - 1
  NewKey new_key_;
};

// The host's certificate key ([certificates]): the one key of its kind, named by this handle.
inline constexpr std::uint32_t kCertificateHandle = 1;

// An auth provider as the IKE process gets it: a preshared key by its handle (keys), a certificate
// by the CA its peers must chain to (the key: kCertificateHandle), Kerberos by its method (its GSS
// steps run in wardd: `gss` is told the provider); or why the IKE process cannot use it
// (ike_phase1_table.cpp).
Expected<ikeproc::RemoteAuth, std::string> remote_auth(const ikebridge::AuthProviderPtr& provider, KeyHandles& keys,
                                                       ikeproc::GssService& gss);

class IkeProcess final : public IkeRunner {
 public:
  // `program`: wardd's own path (it runs `program --privsep-child ike --user USER`).
  // `certificates`: the host's ([certificates] in ward.conf), or null. The child gets the
  // certificate, chain and trust store, never the key: it asks wardd to sign (kSign).
  IkeProcess(Logger& log, AcquireRecorder& recorder, ikebridge::AuthFactory auth, ikebridge::CertificateCredentialsPtr certificates,
             std::string program, std::string user, config::IkeSettings settings);
  ~IkeProcess() override { stop(); }

  // Before start(): SKEYID of preshared keys comes from the key process (which gets each key the
  // child gets a handle for) instead of wardd. Signatures need nothing here: certificates loaded
  // with a key process sign through it (certificate_reload.h).
  void use_key_process(KeyProcess* keys);
  void start(const std::vector<IpAddress>& addresses, driver::Dataplane& dataplane) override;
  void sync(const AgentState& state) override;
  void replace_certificates(ikebridge::CertificateCredentialsPtr certificates) override;
  void readdress(const std::vector<IpAddress>& addresses) override;
  std::vector<ike::service::IkeSnapshot> snapshots() const override;
  bool running() const override { return supervisor_ != nullptr; }
  void stop() override;

 private:
  // The sockets of one address: a group of [ike] engines on UDP 500 and one on 4500.
  struct Service {
    IpAddress local;
    ike::service::ServiceSockets sockets;
  };
  // ike_process_services.cpp: the sockets of one address, bound and prepared (nullopt: logged).
  std::optional<Service> bind_service(const IpAddress& address);
  static Expected<void, std::string> send_sockets(privsep::Endpoint& child, const Service& service);
  static ikeproc::ServiceStart service_start(const Service& service);
  void started(pid_t pid, std::shared_ptr<privsep::Channel> channel);
  void send_certificates(privsep::Endpoint& child, const ike::auth::CertificateCredentials& certificates);
  ikebridge::CertificateCredentialsPtr certificates() const;
  // An auth method as the child gets it (keys by handle, ikeproc::RemoteAuth), or why not.
  Expected<ikeproc::RemoteAuth, std::string> remote_auth(const model::AuthMethod& method);
  // kPhase1Table: the current policy's phase 1 table (ike_phase1_table.h), to `child` (sync_mutex_ held).
  void send_phase1_table(privsep::Endpoint& child);
  Expected<privsep::Body, std::string> sign(std::span<const std::uint8_t> body);
  void exited(pid_t pid, const std::string& how, std::chrono::milliseconds restart_in);
  // `self`: the endpoint the message came on, for answers given later (Kerberos steps).
  Expected<privsep::Body, std::string> handle(privsep::Incoming& message, const std::weak_ptr<privsep::Endpoint>& self);
  Expected<privsep::Body, std::string> handle_call(privsep::Incoming& message, const std::weak_ptr<privsep::Endpoint>& self);
  Expected<void, std::string> admit(const driver::SaInstall& sa);
  Expected<void, std::string> admit(const driver::SoftAssociation& association);
  Expected<privsep::Body, std::string> allocate_spi(std::span<const std::uint8_t> body);
  Expected<privsep::Body, std::string> release_spi(std::span<const std::uint8_t> body);
  // An inbound SA's SPIs must be ones the child reserved for its peer (mutex_ held).
  Expected<void, std::string> check_reserved_spis(const driver::SaInstall& sa) const;
  void note_acquired(const IpAddress& peer);
  Expected<void, std::string> refuse_spi(std::string why);
  std::shared_ptr<privsep::Endpoint> endpoint() const;
  void remove_installed_sas(const std::string& why);

  Logger& log_;
  AcquireRecorder& recorder_;
  ikebridge::PolicyBridge bridge_;
  BridgeSync bridge_sync_;
  // Held while a policy reaches the bridge and the child's phase 1 table; taken after
  // certificates_sending_, before mutex_.
  std::mutex sync_mutex_;
  KeyHandles keys_;
  KeyProcess* key_process_ = nullptr;
  mutable std::mutex certificates_mutex_;
  ikebridge::CertificateCredentialsPtr certificates_;
  // Held while a set is sent, so that a reload and a child's start cannot cross (a new child left
  // with the old set, the new one sent to the child that went away).
  std::mutex certificates_sending_;
  ikeproc::GssService gss_;   // Kerberos: the GSS contexts of the child's main modes, steps on its worker
  std::string program_;
  std::string user_;
  config::IkeSettings settings_;
  driver::Dataplane* dataplane_ = nullptr;
  // Taken before certificates_sending_ and mutex_; held by started() until the endpoint is set.
  mutable std::mutex services_mutex_;
  std::vector<Service> services_;
  std::unique_ptr<privsep::Supervisor> supervisor_;
  std::atomic<pid_t> child_pid_{-1};
  mutable std::mutex mutex_;
  std::shared_ptr<privsep::Endpoint> endpoint_;
  std::set<std::pair<std::uint32_t, driver::crypto::Direction>> installed_;   // by the child, not yet deleted
  std::set<IpAddress> authenticated_peers_;   // the current child's reported main modes
  std::map<IpAddress, std::chrono::steady_clock::time_point> acquired_peers_;   // acquires / expiries passed on, when
  struct ReservedSpi {
    IpAddress peer;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::pair<std::uint32_t, driver::crypto::SecurityProtocol>, ReservedSpi> reserved_spis_;   // by the child, not yet used
};

}  // namespace ward::agent::daemon
