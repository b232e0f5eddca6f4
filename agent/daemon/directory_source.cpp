#include "agent/daemon/directory_source.h"

#include "agent/config/secret_file.h"
#include "agent/daemon/host_addresses.h"
#include "agent/daemon/kerberos_auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "directory/adblob/ad_object.h"
#include "directory/gpo/dn.h"
#include "directory/gpo/policy_results.h"
#include "directory/gpo/reader.h"
#include "directory/store/policy_store.h"

namespace ward::agent::daemon {
namespace {

constexpr std::size_t kMaxPasswordBytes = 1024;
constexpr std::uint32_t kStampPageSize = 500;
// CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO>: a GPO's IPsec assignment object.
constexpr const char* kAssignmentPrefix = "CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,";
// LDAP result codes that mean "this server cannot serve now", not "the content is wrong".
constexpr std::array<int, 6> kTransportResults = {3 /*timeLimitExceeded*/, 11 /*adminLimitExceeded*/, 51 /*busy*/,
                                                  52 /*unavailable*/, 53 /*unwillingToPerform*/, 80 /*other*/};

Expected<model::Secret, std::string> read_password_file(const std::filesystem::path& file) {
  if (auto secret = config::check_secret_file(file, "[directory] password_file"); !secret) {
    return unexpected(std::move(secret).error());
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return unexpected("[directory] password_file " + file.string() + ": cannot open");
  std::string text(kMaxPasswordBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPasswordBytes) return unexpected("[directory] password_file " + file.string() + ": longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  model::Secret secret(std::move(text));
  if (secret.empty()) return unexpected("[directory] password_file " + file.string() + ": empty password");
  return secret;
}

FetchError unavailable(std::string message) { return FetchError{FetchError::Kind::Unavailable, std::move(message), {}, {}}; }

// A GpoError or StoreError: LDAP failures have no attribute and carry the LDAP error text. Content
// errors become one Problem naming the DN (object) and attribute (field).
template <typename Error>
FetchError classify(const Error& error, std::string_view step) {
  if (error.attribute.empty() && is_transport_failure(error.message)) {
    return unavailable(std::string(step) + ": " + error.to_string());
  }
  model::Problem problem;
  problem.severity = model::Severity::Error;
  problem.object = "'" + error.dn + "'";
  problem.field = error.attribute;
  problem.message = error.message;
  return FetchError{FetchError::Kind::Invalid, std::string(step), {std::move(problem)}, {}};
}

std::string first_rdn_filter(std::string_view dn) {
  const auto rdns = gpo::split_dn(dn);
  if (!rdns || rdns->empty()) return {};
  const std::string& rdn = rdns->front();
  const auto eq = rdn.find('=');
  if (eq == std::string::npos) return {};
  return "(" + rdn.substr(0, eq) + "=" + gpo::escape_filter_value(gpo::rdn_value(rdn)) + ")";
}

// The largest modifyTimestamp among `dns` (GeneralizedTime "YYYYMMDDhhmmssZ" sorts as text), in
// one subtree search from the domain by their first RDNs, matched to the exact DNs here.
Expected<std::string, ldap::LdapError> newest_stamp(ldap::Session& session, const std::string& domain_dn,
                                                    const std::set<std::string>& dns) {
  std::set<std::string> rdn_filters;
  std::set<std::string> wanted;
  for (const auto& dn : dns) {
    if (auto f = first_rdn_filter(dn); !f.empty()) rdn_filters.insert(f);
    wanted.insert(gpo::normalize_dn(dn));
  }
  std::string filter = "(|";
  for (const auto& f : rdn_filters) filter += f;
  filter += ")";
  ldap::SearchRequest request{domain_dn, ldap::Scope::kSubtree, filter, {"modifyTimestamp"}, kStampPageSize};
  auto entries = session.search(request);
  if (!entries) return unexpected(entries.error());
  std::string newest;
  for (const auto& entry : *entries) {
    if (!wanted.contains(gpo::normalize_dn(entry.dn))) continue;
    if (auto stamp = entry.first("modifyTimestamp"); stamp && *stamp > newest) newest = *stamp;
  }
  return newest;
}

// AD hides what a computer may not read (the default ACL of CN=IP Security lets Authenticated
// Users list its children, not read them): a policy that "does not exist" or whose parts are
// "missing" may only be unreadable. Ask the directory which, and say so with the fix.
void explain_unreadable(ldap::Session& session, store::StoreError& error) {
  if (error.dn.empty() || is_transport_failure(error.message)) return;
  auto access = session.probe(error.dn);
  if (!access || *access != ldap::Session::EntryAccess::kUnreadable) return;
  error.attribute.clear();
  error.message = "this computer may not read '" + error.dn +
                  "' (it exists, but its attributes are hidden from this account; Active Directory's default ACL "
                  "on CN=IP Security lets computers list the policies, not read them): grant Authenticated Users "
                  "(or the computers' group) read on CN=IP Security,CN=System,<domain> with inheritance (ward-dir's "
                  "read grant, or samba-tool dsacl set --sddl='(A;CI;RPLCLORC;;;AU)') [directory said: " +
                  error.message + "]";
}

}  // namespace

std::string domain_dn_of_realm(std::string_view realm) {
  std::string out;
  std::size_t start = 0;
  while (start <= realm.size()) {
    const auto dot = realm.find('.', start);
    const auto label = realm.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!label.empty()) {
      std::string lower(label);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out += (out.empty() ? "DC=" : ",DC=") + lower;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

bool is_transport_failure(std::string_view text) {
  constexpr std::string_view kMarker = "(result ";
  const auto at = text.find(kMarker);
  if (at == std::string_view::npos) return false;
  const auto number = text.substr(at + kMarker.size());
  int code = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), code);
  if (ec != std::errc{}) return false;
  if (code < 0) return true;  // libldap's client side: server down, timeout, connect error
  for (int transport : kTransportResults) {
    if (code == transport) return true;
  }
  return false;
}

Expected<DirectorySourceSettings, std::string> directory_source_settings(const config::DirectorySettings& directory) {
  DirectorySourceSettings out;
  out.session.uris = directory.uris;
  out.session.tls = directory.tls_ca.empty() ? ldap::TlsMode::kNone : ldap::TlsMode::kStartTls;
  out.session.ca_file = directory.tls_ca.empty() ? std::string(config::kSystemCaBundle) : directory.tls_ca.string();
  out.session.operation_timeout = directory.request_timeout;
  switch (directory.bind) {
    case config::BindMode::Gssapi: {
      out.session.bind = ldap::GssapiBind{directory.keytab.string(), host_principal(directory)};
      break;
    }
    case config::BindMode::Simple: {
      auto password = read_password_file(directory.password_file);
      if (!password) return unexpected(password.error());
      out.session.bind = ldap::SimpleBind{directory.bind_dn, std::move(*password)};
      break;
    }
  }
  out.domain_dn = domain_dn_of_realm(directory.realm);
  if (out.domain_dn.empty()) return unexpected("[directory] realm '" + directory.realm + "' names no domain");
  out.computer_dn = directory.computer_dn;
  out.computer_account = out.computer_dn.empty() ? computer_account_name(directory) : directory.computer_name;
  if (!directory.site.empty()) out.site_dn = "CN=" + directory.site + ",CN=Sites,CN=Configuration," + out.domain_dn;
  out.host_addresses = [] {
    auto addresses = daemon::host_addresses();
    return addresses ? *addresses : std::vector<IpAddress>{};
  };
  return out;
}

DirectorySource::DirectorySource(DirectorySourceSettings settings, Logger& log)
    : settings_(std::move(settings)), shared_(settings_.shared_session), log_(log) {
  if (!shared_) shared_ = std::make_shared<ldap::SharedSession>(settings_.session);
  description_ = "directory";
  for (std::size_t i = 0; i < settings_.session.uris.size(); ++i) {
    description_ += (i == 0 ? " " : ", ") + settings_.session.uris[i];
  }
}

bool DirectorySource::affected_by(std::string_view dn) const {
  std::lock_guard lock(scope_mutex_);
  return depends_.affected_by(dn);
}

RefreshScope DirectorySource::scope() const {
  std::lock_guard lock(scope_mutex_);
  return depends_;
}

Expected<FetchedPolicy, FetchError> DirectorySource::fetch() {
  // A kept connection may have been closed by the server (idle timeout, ticket expiry, a DC
  // restart): then one retry on a new connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto acquired = shared_->acquire();
    if (!acquired) return unexpected(unavailable("cannot bind to any directory server: " + acquired.error().to_string()));
    const bool reused = !acquired->fresh;
    ldap::Session& session = *acquired->session;
    // The change watcher may have opened the shared connection first: the URIs it skipped are
    // reported by the first fetch on that connection.
    if (session.id() != failover_reported_for_) {
      failover_reported_for_ = session.id();
      for (const auto& skipped : session.failed_attempts()) {
        log_.warning("directory-failover", {{"skipped", skipped.uri}, {"why", skipped.to_string()}, {"using", session.uri()}});
      }
    }
    const std::uint64_t start = reused ? session.round_trips() : 0;
    const std::uint64_t bind_round_trips = reused ? 0 : session.round_trips();
    ScopeReport report;
    RefreshScope depends;
    auto result = fetch_on(session, report, depends);
    const std::uint64_t round_trips = session.round_trips() - start;
    last_round_trips_ = round_trips;
    if (result) result->report.round_trips = round_trips;
    const bool broken = !result && result.error().kind == FetchError::Kind::Unavailable;
    const bool scoped = result || result.error().kind == FetchError::Kind::NotAssigned;
    {
      std::lock_guard lock(scope_mutex_);
      if (scoped) {
        depends_ = std::move(depends);
      } else if (!broken) {
        depends_ = RefreshScope::everything();  // invalid content: any change may repair it
      }
    }
    log_.info("directory-fetch", {{"uri", session.uri()},
                                  {"round_trips", std::to_string(round_trips)},
                                  {"bind_round_trips", std::to_string(bind_round_trips)},
                                  {"connection", reused ? "kept" : "new"},
                                  {"result", result ? "policy"
                                                    : std::string(result.error().kind == FetchError::Kind::NotAssigned
                                                                      ? "not-assigned"
                                                                      : "failed")}});
    if (broken) shared_->discard(acquired->session);
    if (broken && reused) continue;
    return result;
  }
  return unexpected(unavailable("the directory connection broke twice"));
}

void DirectorySource::record_dependencies(ldap::Session& session, const gpo::PolicyResults& results,
                                          RefreshScope& depends) const {
  const auto& scope = results.scope;
  if (scope.token) {
    // Security filtering (AD): group memberships decide too; any change counts.
    depends = RefreshScope::everything();
    return;
  }
  depends.add_object(results.computer_dn);
  if (!results.site.dn.empty()) depends.add_object(results.site.dn);
  if (!settings_.site_dn && results.site.from != "msDS-SiteName") {
    // The site came from the subnets (or none matched): a subnet change can move the host.
    auto root = session.root_dse();
    const std::string configuration = !root || root->configuration_naming_context.empty()
                                          ? "CN=Configuration," + settings_.domain_dn
                                          : root->configuration_naming_context;
    depends.add_subtree("CN=Subnets,CN=Sites," + configuration);
  }
  for (const auto& som : scope.input.domain_and_ous) {
    depends.add_object(som.dn);
    for (const auto& link : som.links) depends.add_subtree(link.gpo_dn);
  }
  if (scope.input.site) {
    for (const auto& link : scope.input.site->links) depends.add_subtree(link.gpo_dn);
  }
}

Expected<FetchedPolicy, FetchError> DirectorySource::fetch_on(ldap::Session& session, ScopeReport& report,
                                                             RefreshScope& depends) {
  gpo::ResultsQuery query;
  query.domain_dn = settings_.domain_dn;
  query.computer_dn = settings_.computer_dn;
  query.computer_account = settings_.computer_account;
  query.site_dn = settings_.site_dn;
  if (!settings_.site_dn && settings_.host_addresses) query.addresses = settings_.host_addresses();
  auto results = gpo::read_policy_results(session, query);
  if (!results) {
    const auto& failed = results.error();
    if (failed.error.attribute.empty() && is_transport_failure(failed.error.message)) {
      return unexpected(unavailable(failed.to_string()));
    }
    return unexpected(classify(failed.error, failed.step));
  }
  report.directory = results->directory;
  report.computer_dn = results->computer_dn;
  report.account = results->account;
  report.site_dn = results->site.dn;
  report.site_from = results->site.from;
  for (const auto& gpo : results->gpos) report.gpos.push_back({gpo.name, gpo.dn, gpo.som_dn, gpo.applied, gpo.note});
  for (const auto& gpo : report.gpos) {
    if (!gpo.applied && !gpo.note.empty()) {
      log_.info("gpo-not-applied", {{"gpo", gpo.name.empty() ? gpo.dn : gpo.name}, {"why", gpo.note}});
    }
  }
  const std::string& computer = results->computer_dn;
  const gpo::ComputerScope* scope = &results->scope;
  record_dependencies(session, *results, depends);
  if (!scope->winner) {
    FetchError none{FetchError::Kind::NotAssigned,
                    "no IPsec policy assigned to " + computer + " (" + std::to_string(scope->scope.applied.size()) +
                        " GPOs applied, none assigns one)",
                    {},
                    report};
    return unexpected(std::move(none));
  }
  const auto& winner = *scope->winner;
  auto stored = store::read_policy(session, winner.policy_dn);
  if (!stored) {
    auto error = stored.error();
    explain_unreadable(session, error);
    return unexpected(classify(error, "reading policy " + winner.policy_dn + " assigned by GPO '" +
                                          winner.gpo_display_name + "'"));
  }

  std::set<std::string> read;
  for (const auto& object : stored->objects) {
    read.insert(object.dn);
    depends.add_object(object.dn);
  }
  depends.add_object(winner.policy_dn);
  read.insert(winner.gpo_dn);
  read.insert(kAssignmentPrefix + winner.gpo_dn);
  for (const auto& som : scope->input.domain_and_ous) read.insert(som.dn);
  if (scope->input.site) read.insert(scope->input.site->dn);
  auto stamp = newest_stamp(session, settings_.domain_dn, read);
  if (!stamp) {
    if (is_transport_failure(stamp.error().to_string())) {
      return unexpected(unavailable("reading change stamps: " + stamp.error().to_string()));
    }
    log_.warning("no-change-stamp", {{"why", stamp.error().to_string()}});
  }

  FetchedPolicy out;
  out.policy = std::move(stored->policy);
  out.source.policy_dn = winner.policy_dn;
  out.source.gpo_dn = winner.gpo_dn;
  out.source.gpo_name = winner.gpo_display_name;
  out.source.som_dn = winner.som_dn;
  out.source.change_stamp = stamp ? *stamp : std::string();
  out.report = report;
  return out;
}

}  // namespace ward::agent::daemon
