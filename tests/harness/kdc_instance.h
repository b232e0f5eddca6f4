// KdcInstance: a real MIT krb5kdc with a throwaway realm in a fresh temp dir, for tests.
//
// krb5.conf and kdc.conf are generated in the temp dir and handed to the tools through
// KRB5_CONFIG / KRB5_KDC_PROFILE (the system's /etc/krb5.conf is never read or written);
// the database is made with `kdb5_util create -s`, principals and keytabs with kadmin.local,
// and krb5kdc listens on 127.0.0.1:<free port> (UDP and TCP). The destructor stops krb5kdc by
// pid and removes the dir. A test that uses the realm in-process must set KRB5_CONFIG to
// krb5_config() itself (see ScopedEnv).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/expected.h"
#include "tests/harness/process.h"

namespace ward::test {

struct KdcOptions {
  std::string realm = "WARD.TEST";
  std::chrono::milliseconds start_timeout = std::chrono::seconds(20);
  // Runs krb5kdc with libfaketime preloaded at this offset (its "+1h", "-30m", ...): a KDC whose
  // clock is skewed from the hosts' (kadmin.local and kdb5_util keep the real clock).
  std::string clock_offset = {};
  // Appended to krb5.conf's [libdefaults], e.g. " kdc_timesync = 0\n".
  std::string extra_libdefaults = {};
  // krb5.conf's udp_preference_limit: 1 sends every message over TCP; larger lets clients try UDP.
  int udp_preference_limit = 1;
  // Appended to kdc.conf's [kdcdefaults], e.g. " kdc_max_dgram_reply_size = 200\n".
  std::string extra_kdcdefaults = {};
};

class KdcInstance {
 public:
  static Expected<std::unique_ptr<KdcInstance>, HarnessError> start(KdcOptions options);
  ~KdcInstance();
  KdcInstance(const KdcInstance&) = delete;
  KdcInstance& operator=(const KdcInstance&) = delete;

  const std::string& realm() const { return options_.realm; }
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& krb5_config() const { return krb5_conf_; }
  const std::filesystem::path& kdc_profile() const { return kdc_conf_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  pid_t pid() const { return process_.pid(); }

  // Adds `principal` (without realm, e.g. "host/client.ward.test") with a random key.
  Expected<void, HarnessError> add_principal(const std::string& principal);
  // Writes the principal's current keys to `keytab` (kadmin.local ktadd -norandkey).
  Expected<void, HarnessError> extract_keytab(const std::string& principal, const std::filesystem::path& keytab);
  // Runs one kadmin.local query, e.g. "getprinc x".
  Expected<void, HarnessError> kadmin(const std::string& query);

  void stop() { process_.stop(); }

 private:
  KdcInstance(KdcOptions options, TempDir dir);
  Expected<void, HarnessError> prepare();
  Expected<void, HarnessError> launch();
  Environment tool_environment() const;

  KdcOptions options_;
  TempDir dir_;
  std::filesystem::path krb5_conf_;
  std::filesystem::path kdc_conf_;
  std::filesystem::path log_;
  std::uint16_t port_ = 0;
  ChildProcess process_;
};

// Sets an environment variable for the lifetime of the object and restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace ward::test
