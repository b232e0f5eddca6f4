// wardd's keys in a process of their own (ward.conf [privsep] user), as OpenBSD iked's `ca`: wardd's
// half. The child (key_child.h, `wardd --privsep-child keys --user USER`, started and restarted by
// a privsep Supervisor: its own uid, no capabilities, no_new_privs, seccomp, no socket but AF_UNIX)
// holds the certificate's private key and the preshared keys and answers key_wire.h's calls.
//
//   certificate  wardd opens [certificates] private_key as root and passes the descriptor; the key
//                process reads it, checks it is the certificate's key and keeps it under a
//                generation number (each load or reload a new one). wardd itself never reads the
//                file: its CertificateCredentials sign through sign(generation, hash).
//   preshared    each key the IKE process gets a handle for (ike_process.h KeyHandles) is sent
//                once; SKEYID comes from here. wardd still holds these keys: they are part of the
//                policy it fetches, caches and compiles.
//   IKE          wardd forwards the IKE process's kSkeyid and kSign here after its own checks
//                (rather than a socketpair between the two children, as iked's ikev2 <-> ca: each
//                restart of either would need a new pair handed to both, and wardd keeps the one
//                place that logs refused calls); a call is a few hundred microseconds more.
//   keytab       the host keytab ([directory] keytab) the same way: wardd opens it as root and passes
//                the descriptor, the key process reads it into a MEMORY keytab (key_gss.h). wardd
//                stats the file before each Kerberos exchange and sends it again when it changed
//                (a rotated keytab, `adcli update`), or when the key process was replaced.
//   Kerberos     the acceptor's GSS-API steps run there (gss_accept, gss_wrap, gss_unwrap, gss_end;
//                key_kerberos.h is the provider wardd's GssService uses); wardd resolves the
//                principal the peer must be (the key process has no DNS) and never reads the keytab.
//                The initiator's too (gss_init, gss_finish): the key process gets the TGT and the
//                service ticket with its keytab, each KDC message handed to wardd (kKdcSend), which
//                sends it on (kdc_relay.h) from a thread of its own.
//   crash        an exit is logged (`key-process-exited`, how), calls in flight and until the
//                next child runs fail at once (those main modes fail; the dataplane keeps its
//                table and SAs), and the new child gets every preshared key and the certificate
//                key again (the key file opened again: a file replaced since is checked against
//                the certificate in use, and refused with `key-process-certificate-refused`).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agent/daemon/log.h"
#include "agent/ikeproc/wire_gss.h"
#include "common/ip.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/supervisor.h"
#include "driver/crypto/secure_bytes.h"

namespace ward::agent::daemon {

// How long wardd waits for one answer of the key process: a signature or a prf takes well under a
// millisecond, so a longer wait is a hung child, and the IKE process waits for wardd at most 5 s.
inline constexpr std::chrono::milliseconds kKeyCallTimeout{2000};
// Taking a certificate key: at start-up the first child may still be starting (exec, sandbox).
inline constexpr std::chrono::milliseconds kKeyLoadTimeout{10000};
// An initiator's tickets: a few KDC round trips through wardd; the IKE process waits 5 s for the step.
inline constexpr std::chrono::milliseconds kKeyGssInitTimeout{4500};
// kKdcSend calls waiting for wardd's relay thread (the key process sends one at a time).
inline constexpr std::size_t kMaxQueuedKdcMessages = 16;

class KeyProcess {
 public:
  // `argv`: {wardd, "--privsep-child", "keys", "--user", USER}.
  KeyProcess(Logger& log, std::vector<std::string> argv, std::string user);
  ~KeyProcess();
  KeyProcess(const KeyProcess&) = delete;
  KeyProcess& operator=(const KeyProcess&) = delete;

  // Starts the first child; an error when it cannot be spawned at all.
  Expected<void, std::string> start();
  void stop();
  pid_t child_pid() const { return child_pid_.load(); }

  // A preshared key under its handle (sent now, and to every later child).
  void add_preshared_key(std::uint32_t handle, driver::crypto::SecureBytes key);
  Expected<driver::crypto::SecureBytes, std::string> skeyid(const ikeproc::SkeyidRequest& request);

  // Opens `key_file` (as root), hands the descriptor to the key process, which checks the key is
  // `certificate_pem`'s: the generation to sign with, or why not (the file and what is wrong).
  Expected<std::uint32_t, std::string> load_certificate_key(const std::string& certificate_pem, const std::filesystem::path& key_file);
  Expected<std::vector<std::byte>, std::string> sign(std::uint32_t generation, std::span<const std::byte> hash);

  // The host keytab for the GSS steps: loaded now (the error names the file and why), and again
  // whenever gss_accept or gss_init finds the file changed or the key process replaced.
  struct KeytabSettings {
    std::filesystem::path path;
    std::string own_principal;        // must have a key in it
    std::string acceptor_principal;   // ike::auth::KerberosConfig::acceptor_principal
  };
  Expected<void, std::string> use_keytab(KeytabSettings settings);

  // One exchange in the key process: which child holds it (a replaced child knows none of
  // the last one's) and its id there; our tokens for main mode 3 (AP-REQ) or 4 (AP-REP).
  struct GssAccepted {
    std::uint64_t child = 0;
    std::uint32_t exchange = 0;
    std::vector<std::vector<std::byte>> reply;
  };
  Expected<GssAccepted, std::string> gss_accept(const IpAddress& peer, const std::string& expected_principal,
                                                std::vector<std::vector<std::byte>> tokens);
  // The initiator's: tickets for `target` (the key process's KDC messages sent by wardd,
  // kdc_relay.h) and the AP-REQ (`reply` holds it); then the peer's AP-REP.
  Expected<GssAccepted, std::string> gss_init(const IpAddress& peer, const std::string& target);
  Expected<void, std::string> gss_finish(std::uint64_t child, std::uint32_t exchange, std::vector<std::vector<std::byte>> tokens);
  // The directory bind's TGT for `client`, got by the key process with the keytab (its KDC
  // messages sent on by wardd) and marshalled (krb5_marshal_credentials), with its end time.
  struct Tgt {
    driver::crypto::SecureBytes ticket;
    std::int64_t end = 0;
  };
  Expected<Tgt, std::string> tgt(const std::string& client);
  // kGssWrap (`check` false: GSS_Wrap of our HASH) or kGssUnwrap (the peer's, and who it is).
  Expected<ikeproc::GssResult, std::string> gss_authenticate(std::uint64_t child, const ikeproc::GssAuthenticate& request, bool check);
  void gss_end(std::uint64_t child, std::uint32_t exchange);

 private:
  // What identifies the keytab file's contents without reading it.
  struct FileStamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t modified_ns = 0, changed_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct LoadedKeytab {
    std::uint32_t generation = 0;
    std::uint64_t child = 0;
    FileStamp stamp;
  };
  Expected<std::uint32_t, std::string> current_keytab();   // under loading_
  // The keytab generation to name in a call and the key process that holds it.
  struct KeytabInUse {
    std::uint32_t generation = 0;
    std::uint64_t child = 0;
  };
  Expected<KeytabInUse, std::string> keytab_in_use();
  Expected<privsep::Body, std::string> call_child(std::uint64_t child, std::uint32_t type, std::span<const std::uint8_t> body,
                                                  std::chrono::milliseconds timeout = kKeyCallTimeout);
  // kKdcSend calls of the key process, sent to the KDC on a thread of their own (the endpoint's
  // reader must stay free: the kGssInit that caused them is answered on it).
  struct KdcJob {
    std::weak_ptr<privsep::Endpoint> endpoint;
    std::uint64_t call_id = 0;
    privsep::Body body;
  };
  Expected<privsep::Body, std::string> queue_kdc_send(privsep::Incoming& m, std::weak_ptr<privsep::Endpoint> endpoint);
  void relay_kdc_messages();

  struct CertificateKey {
    std::uint32_t generation = 0;
    std::string certificate_pem;
    std::filesystem::path key_file;
  };
  void started(pid_t pid, std::shared_ptr<privsep::Channel> channel);
  void exited(pid_t pid, const std::string& how, std::chrono::milliseconds restart_in);
  std::shared_ptr<privsep::Endpoint> endpoint() const;
  Expected<privsep::Body, std::string> call(std::uint32_t type, std::span<const std::uint8_t> body);
  static Expected<void, std::string> send_certificate_key(privsep::Endpoint& child, const CertificateKey& key);

  Logger& log_;
  std::vector<std::string> argv_;
  std::string user_;
  std::unique_ptr<privsep::Supervisor> supervisor_;
  std::atomic<pid_t> child_pid_{-1};
  mutable std::mutex mutex_;
  std::shared_ptr<privsep::Endpoint> endpoint_;
  std::map<std::uint32_t, driver::crypto::SecureBytes> preshared_;   // handle -> key, for the next child
  std::optional<CertificateKey> certificate_;                          // the one in use, for the next child
  std::uint32_t next_generation_ = 1;
  std::uint64_t child_ = 0;   // counts the children started: names the one endpoint_ reaches
  std::optional<KeytabSettings> keytab_settings_;   // under loading_
  std::optional<LoadedKeytab> keytab_;               // under loading_
  std::mutex loading_;   // one certificate key or keytab load at a time (start-up, reload, a new child's)
  std::mutex kdc_mutex_;
  std::condition_variable kdc_wake_;
  std::deque<KdcJob> kdc_jobs_;
  bool kdc_stopping_ = false;
  std::thread kdc_thread_;   // started by start(), joined by stop()
};

}  // namespace ward::agent::daemon
