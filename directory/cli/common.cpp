#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "directory/cli/cli.h"
#include "directory/gpo/dn.h"
#include "directory/model/validation.h"
#include "directory/store/directory_dialect.h"
#include "directory/store/policy_store.h"

namespace ward::dircli {

Args::Args(std::vector<std::string> words, std::vector<std::string> flags_with_value) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.rfind("--", 0) != 0 || word == "--") {
      positional_.push_back(word);
      continue;
    }
    const auto eq = word.find('=');
    std::string name = word.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (eq != std::string::npos) {
      options_.emplace_back(name, word.substr(eq + 1));
    } else if (std::find(flags_with_value.begin(), flags_with_value.end(), name) != flags_with_value.end() &&
               i + 1 < words.size()) {
      options_.emplace_back(name, words[++i]);
    } else {
      options_.emplace_back(name, "");
    }
  }
}

std::optional<std::string> Args::value(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [key, value] : options_) {
    if (key == name) out = value;
  }
  return out;
}

std::vector<std::string> Args::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : options_) {
    if (key == name) out.push_back(value);
  }
  return out;
}

bool Args::flag(std::string_view name) const { return value(name).has_value(); }

std::string Args::unknown(const std::vector<std::string>& known) const {
  for (const auto& [key, value] : options_) {
    if (std::find(known.begin(), known.end(), key) == known.end()) return "unknown option --" + key;
  }
  return {};
}

ldap::Session* Context::connect() {
  if (session) return session.get();
  if (session_options.uris.empty()) {
    usage("no directory given: use --uri ldap://host (repeatable)");
    return nullptr;
  }
  auto connected = ldap::Session::connect(session_options);
  if (!connected) {
    fail("cannot connect: " + connected.error().to_string());
    return nullptr;
  }
  session = std::move(*connected);
  return session.get();
}

store::Sysvol* Context::sysvol(bool& failed) {
  failed = false;
  if (sysvol_access) return sysvol_access.get();
  auto* ldap_session = connect();
  if (ldap_session == nullptr) {
    failed = true;
    return nullptr;
  }
  auto dialect = store::DirectoryDialect::detect(*ldap_session);
  if (!dialect) {
    failed = true;
    fail(dialect.error());
    return nullptr;
  }
  if (!dialect->gpos_have_sysvol()) return nullptr;
  if (!sysvol_path.empty()) {
    sysvol_access = store::local_sysvol(sysvol_path);
    return sysvol_access.get();
  }
  store::SmbCredentials credentials;
  if (const auto* gssapi = std::get_if<ldap::GssapiBind>(&session_options.bind)) {
    credentials = {gssapi->keytab, gssapi->client_principal};
  } else {
    failed = true;
    fail("Active Directory keeps half of a GPO on SYSVOL, which ward-dir reaches over SMB with Kerberos: bind with "
         "--gssapi (your kinit tickets) or --keytab, or give --sysvol-path DIR (the SysVol share, mounted or local)");
    return nullptr;
  }
  auto smb = store::smb_sysvol(dialect->sysvol_host(), credentials);
  if (!smb) {
    failed = true;
    fail(smb.error());
    return nullptr;
  }
  sysvol_access = std::move(*smb);
  return sysvol_access.get();
}

int fail(const std::string& message) {
  std::cerr << "ward-dir: " << message << "\n";
  return kExitFailed;
}

int fail(const store::StoreError& error) { return fail(error.to_string()); }

int usage(const std::string& message) {
  std::cerr << "ward-dir: " << message << " (see ward-dir --help)\n";
  return kExitUsage;
}

Expected<std::string, std::string> resolve_policy(Context& context, std::string_view name) {
  if (name.find('=') != std::string_view::npos) return std::string(name);
  auto* session = context.connect();
  if (session == nullptr) return unexpected(std::string("no directory session"));
  if (context.domain_dn.empty()) return unexpected(std::string("--domain is needed to find a policy by name"));
  auto policies = store::list_policies(*session, context.domain_dn);
  if (!policies) return unexpected(policies.error().to_string());
  const auto guid = model::Guid::parse(name);
  std::vector<std::string> matches;
  for (const auto& policy : *policies) {
    const auto id = model::Guid::parse(policy.id);
    if (policy.name == name || (guid && id && *guid == *id)) matches.push_back(policy.dn);
  }
  if (matches.size() != 1) {
    return unexpected(std::to_string(matches.size()) + " policies match '" + std::string(name) + "' (want one)");
  }
  return matches.front();
}

void note_rewritten(const store::UpdateResult& result, const model::Policy& policy) {
  if (result.rewritten_whole) {
    std::cerr << "ward-dir: note: policy '" << policy.name
              << "' was written in Ward's own form (the edit could not be merged into the objects as read)\n";
  }
}

int edit_policy(Context& context, std::string_view policy_name,
                const std::function<std::string(model::Policy&)>& edit) {
  auto dn = resolve_policy(context, policy_name);
  if (!dn) return fail(dn.error());
  auto* session = context.connect();
  if (session == nullptr) return kExitFailed;
  auto stored = store::read_policy(*session, *dn);
  if (!stored) return fail(stored.error());
  model::Policy policy = stored->policy;
  if (const auto problem = edit(policy); !problem.empty()) return fail(problem);
  // An edit may not make the policy worse. Errors the stored policy had already (a Windows
  // policy offering DES, say: applied without those offers) do not block an unrelated edit.
  const auto had = model::validate(stored->policy);
  const auto problems = model::validate(policy);
  bool new_errors = false;
  for (const auto& problem : problems) {
    const bool old = std::find(had.begin(), had.end(), problem) != had.end();
    std::cerr << "ward-dir: " << problem.to_string() << (old ? " (as stored already)" : "") << "\n";
    if (problem.severity == model::Severity::Error && !old) new_errors = true;
  }
  if (new_errors) return fail("policy '" + policy.name + "' not changed: it would be invalid");
  // The policy's objects live in the domain its DN ends in (its trailing DC= RDNs).
  std::string policy_domain = gpo::domain_dn(*dn);
  if (policy_domain.empty()) policy_domain = context.domain_dn;
  auto written = store::update_policy(*session, policy_domain, policy);
  if (!written) return fail(written.error());
  note_rewritten(*written, policy);
  return kExitOk;
}

Expected<void, std::string> write_private_file(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return unexpected("cannot write '" + path + "': " + std::strerror(errno));
  // An existing file keeps its mode on open(); make it private before writing.
  if (::fchmod(fd, 0600) != 0) {
    const int saved = errno;
    ::close(fd);
    return unexpected("cannot chmod '" + path + "': " + std::strerror(saved));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return unexpected("cannot write '" + path + "': " + std::strerror(saved));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return unexpected("cannot write '" + path + "': " + std::strerror(errno));
  return {};
}

Expected<std::string, std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected("cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace ward::dircli

namespace ward::dircli {
namespace {
template <class T>
T* find_named(std::vector<T>& items, std::string_view name) {
  const auto guid = model::Guid::parse(name);
  for (auto& item : items) {
    if (item.name == name || (guid && item.id == *guid)) return &item;
  }
  return nullptr;
}
}  // namespace

model::FilterList* find_filter_list(model::Policy& policy, std::string_view name) {
  return find_named(policy.filter_lists, name);
}
model::FilterAction* find_filter_action(model::Policy& policy, std::string_view name) {
  return find_named(policy.filter_actions, name);
}
model::Rule* find_rule(model::Policy& policy, std::string_view name) { return find_named(policy.rules, name); }

std::optional<bool> parse_yes_no(std::string_view text) {
  if (text == "yes") return true;
  if (text == "no") return false;
  return std::nullopt;
}

}  // namespace ward::dircli
