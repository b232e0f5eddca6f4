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
//   crash        an exit is logged (`key-process-exited`, how), calls in flight and until the
//                next child runs fail at once (those main modes fail; the dataplane keeps its
//                table and SAs), and the new child gets every preshared key and the certificate
//                key again (the key file opened again: a file replaced since is checked against
//                the certificate in use, and refused with `key-process-certificate-refused`).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/daemon/log.h"
#include "agent/ikeproc/wire.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/supervisor.h"
#include "driver/crypto/secure_bytes.h"

namespace ward::agent::daemon {

// How long wardd waits for one answer of the key process: a signature or a prf takes well under a
// millisecond, so a longer wait is a hung child, and the IKE process waits for wardd at most 5 s.
inline constexpr std::chrono::milliseconds kKeyCallTimeout{2000};
// Taking a certificate key: at start-up the first child may still be starting (exec, sandbox).
inline constexpr std::chrono::milliseconds kKeyLoadTimeout{10000};

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

 private:
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
  std::mutex loading_;   // one certificate key load at a time (start-up, reload, a new child's)
};

}  // namespace ward::agent::daemon
