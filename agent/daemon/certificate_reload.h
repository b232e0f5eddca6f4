// [certificates] in ward.conf: loaded at start-up, and again whenever its files change, so a new
// CRL (CAs publish one every few days; once the old one's nextUpdate passes, every chain it covers
// is refused as "the CRL ... has expired"), a renewed host certificate or a new trusted CA takes
// effect without restarting wardd and dropping every SA. wardd checks the files on SIGHUP and once
// a minute (stat only: a file's size, modification time and inode; the trust directory's entries).
//
// A reload that fails (a half-copied file, a key that does not match) keeps the credentials in use
// and is reported once per state of the files; the next change is tried again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/daemon/ike_process.h"
#include "agent/daemon/key_process.h"
#include "agent/daemon/log.h"
#include "agent/ikebridge/ike_bridge.h"
#include "common/expected.h"

namespace ward::agent::daemon {

// Loads the host's certificate, key and trust store with the identity and revocation settings.
// With `keys` (wardd's key process, [privsep] user) wardd reads the certificate and the trust store
// only: the key file goes to the key process (opened here, read there), and the credentials sign
// through it.
Expected<ikebridge::CertificateCredentialsPtr, std::string> load_certificates(const config::CertificateSettings& settings,
                                                                             KeyProcess* keys = nullptr);

// The log fields of a loaded set: subject, trusted CAs, CRLs, identity and revocation.
std::vector<LogField> certificate_fields(const ike::auth::CertificateCredentials& credentials);

// What a change of the files is judged by: for the certificate, the key and each regular file of
// the trust store (the file itself, or each entry of its directory), its path, size, mtime and inode.
struct CertificateFileState {
  struct File {
    std::string path;
    std::uintmax_t size = 0;
    std::int64_t modified_ns = 0;
    ino_t inode = 0;
    bool operator==(const File&) const = default;
  };
  std::vector<File> files;
  std::vector<std::string> unreadable;   // paths that could not be examined (gone, no permission)
  bool operator==(const CertificateFileState&) const = default;
};
CertificateFileState certificate_file_state(const config::CertificateSettings& settings);

class CertificateReloader {
 public:
  // `settings` as loaded at start-up; the files' state is taken now (the credentials in use were
  // loaded from it).
  explicit CertificateReloader(config::CertificateSettings settings, KeyProcess* keys = nullptr);

  struct Reloaded {
    ikebridge::CertificateCredentialsPtr credentials;   // null: this state of the files does not load
    std::string error;                                  // why, when credentials is null
  };
  // Nothing when the files are as they were at the last attempt; otherwise the result of loading
  // them again.
  std::optional<Reloaded> reload_if_changed();

 private:
  config::CertificateSettings settings_;
  KeyProcess* keys_;
  CertificateFileState last_;
};

// One check: when the files changed and load, IKE gets them (`certificates-reloaded`); when they do
// not load, IKE keeps the set in use (`certificates-reload-failed` with why).
void reload_certificates(CertificateReloader& reloader, IkeRunner& ike, Logger& log);

}  // namespace ward::agent::daemon
