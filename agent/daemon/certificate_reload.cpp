#include "agent/daemon/certificate_reload.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <system_error>

#include "ike/auth/certificate_provider.h"

namespace ward::agent::daemon {
namespace {

namespace auth = ward::ike::auth;

auth::CertificateOptions options_of(const config::CertificateSettings& settings) {
  auth::CertificateOptions options;
  options.identity.type = settings.identity == config::CertificateIdentityKind::Address ? auth::CertificateIdentity::Address
                          : settings.identity == config::CertificateIdentityKind::Fqdn  ? auth::CertificateIdentity::Fqdn
                                                                                       : auth::CertificateIdentity::DistinguishedName;
  options.identity.fqdn = settings.fqdn;
  options.revocation =
      settings.revocation == config::RevocationMode::Required ? auth::RevocationCheck::Required : auth::RevocationCheck::IfPresent;
  return options;
}

void add_file(const std::filesystem::path& path, CertificateFileState& state) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    state.unreadable.push_back(path.string());
    return;
  }
  if (!S_ISREG(st.st_mode)) return;
  state.files.push_back({path.string(), static_cast<std::uintmax_t>(st.st_size),
                         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, st.st_ino});
}

}  // namespace

Expected<ikebridge::CertificateCredentialsPtr, std::string> load_certificates(const config::CertificateSettings& settings,
                                                                             KeyProcess* keys) {
  const auth::CertificateFiles files{settings.certificate, settings.private_key, settings.trust};
  if (keys == nullptr) {
    auto loaded = auth::CertificateCredentials::load(files, options_of(settings));
    if (!loaded) return unexpected(std::move(loaded.error()));
    return ikebridge::CertificateCredentialsPtr(std::move(*loaded));
  }
  // The generation is known once the key process took the key; nothing signs before that.
  auto generation = std::make_shared<std::atomic<std::uint32_t>>(0);
  auto loaded = auth::CertificateCredentials::load_with_signer(
      files, [keys, generation](std::span<const std::byte> hash) { return keys->sign(generation->load(), hash); }, options_of(settings));
  if (!loaded) return unexpected(std::move(loaded.error()));
  auto taken = keys->load_certificate_key((*loaded)->certificate_pem(), settings.private_key);
  if (!taken) return unexpected(std::move(taken.error()));
  generation->store(*taken);
  return ikebridge::CertificateCredentialsPtr(std::move(*loaded));
}

CertificateFileState certificate_file_state(const config::CertificateSettings& settings) {
  CertificateFileState state;
  add_file(settings.certificate, state);
  add_file(settings.private_key, state);
  std::error_code error;
  if (std::filesystem::is_directory(settings.trust, error)) {
    std::vector<std::filesystem::path> entries;
    for (std::filesystem::directory_iterator it(settings.trust, error), end; !error && it != end; it.increment(error)) {
      entries.push_back(it->path());
    }
    if (error) state.unreadable.push_back(settings.trust.string());
    std::sort(entries.begin(), entries.end());
    for (const auto& entry : entries) add_file(entry, state);
  } else {
    add_file(settings.trust, state);
  }
  return state;
}

std::vector<LogField> certificate_fields(const ike::auth::CertificateCredentials& credentials) {
  const auto& options = credentials.options();
  return {{"subject", credentials.subject()},
          {"trusted_cas", std::to_string(credentials.trusted_ca_count())},
          {"crls", std::to_string(credentials.crl_count())},
          {"identity", std::string(auth::name(options.identity.type))},
          {"revocation", std::string(auth::name(options.revocation))}};
}

CertificateReloader::CertificateReloader(config::CertificateSettings settings, KeyProcess* keys)
    : settings_(std::move(settings)), keys_(keys), last_(certificate_file_state(settings_)) {}

std::optional<CertificateReloader::Reloaded> CertificateReloader::reload_if_changed() {
  auto now = certificate_file_state(settings_);
  if (now == last_) return std::nullopt;
  last_ = std::move(now);
  auto loaded = load_certificates(settings_, keys_);
  if (!loaded) return Reloaded{nullptr, std::move(loaded.error())};
  return Reloaded{std::move(*loaded), {}};
}

void reload_certificates(CertificateReloader& reloader, IkeRunner& ike, Logger& log) {
  auto reloaded = reloader.reload_if_changed();
  if (!reloaded) return;
  if (!reloaded->credentials) {
    log.warning("certificates-reload-failed", {{"why", reloaded->error}, {"result", "the certificates in use stay"}});
    return;
  }
  ike.replace_certificates(reloaded->credentials);
  const auto fields = certificate_fields(*reloaded->credentials);
  log.log(config::LogLevel::Info, "certificates-reloaded", fields);
}

}  // namespace ward::agent::daemon
