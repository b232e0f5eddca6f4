// ward-dir: administer Ward's IPsec policies and their Group Policy assignment in the
// directory, in the spirit of `netsh ipsec static`. Shared pieces of the subcommands.
//
// Exit codes: 0 done, 1 the directory or the input refused (message on stderr names the DN or
// the object and field), 2 usage error.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/ldap/session.h"
#include "directory/model/policy.h"
#include "directory/store/policy_store.h"
#include "directory/store/store_error.h"
#include "directory/store/sysvol.h"

namespace ward::dircli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Arguments after the subcommand words: positional values and --name[=value] options.
class Args {
 public:
  Args(std::vector<std::string> words, std::vector<std::string> flags_with_value);
  // The value of --name (given as "--name v" or "--name=v"); the last one wins.
  std::optional<std::string> value(std::string_view name) const;
  std::vector<std::string> values(std::string_view name) const;
  bool flag(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Options not in `known` (error text), or empty.
  std::string unknown(const std::vector<std::string>& known) const;

 private:
  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<std::string> positional_;
};

struct Context {
  ldap::SessionOptions session_options;
  std::string domain_dn;  // --domain, e.g. DC=example,DC=test
  bool json = false;
  std::string sysvol_path;  // --sysvol-path: a local folder that is the SysVol share
  std::unique_ptr<ldap::Session> session;  // made on first use
  std::unique_ptr<store::Sysvol> sysvol_access;  // made on first use, Active Directory only

  // Connects on first use; prints the error and returns nullptr when that fails.
  ldap::Session* connect();
  // How to reach SYSVOL, for GPO commands: nullptr with nothing printed when the directory has
  // no SYSVOL (OpenLDAP); on Active Directory --sysvol-path, else SMB to the DC with the bind's
  // Kerberos credentials. `failed` is set (error printed) when that cannot be had.
  store::Sysvol* sysvol(bool& failed);
};

// Subcommand entry points: `words` are the arguments after the command group's name.
int run_policy(Context& context, const std::vector<std::string>& words);
int run_rule(Context& context, const std::vector<std::string>& words);
int run_filterlist(Context& context, const std::vector<std::string>& words);
int run_filter(Context& context, const std::vector<std::string>& words);
int run_filteraction(Context& context, const std::vector<std::string>& words);
int run_gpo(Context& context, const std::vector<std::string>& words);
int run_scope(Context& context, const std::vector<std::string>& words);
int run_directory(Context& context, const std::vector<std::string>& words);

// Helpers shared by the subcommands.
int fail(const std::string& message);
int fail(const store::StoreError& error);
int usage(const std::string& message);
// A policy named by DN, {GUID} or ipsecName -> its DN.
Expected<std::string, std::string> resolve_policy(Context& context, std::string_view name);
// Reads the policy, lets `edit` change it, validates, and writes it back unless the edit adds a
// validation error (errors the stored policy had already are printed, not blocking: a Windows
// policy with DES offers can still be edited). `edit` returns an error text (printed, nothing
// written) or empty.
int edit_policy(Context& context, std::string_view policy_name,
                const std::function<std::string(model::Policy&)>& edit);
// Says so on stderr when an update wrote Ward's own form instead of merging (object_merge.h).
void note_rewritten(const store::UpdateResult& result, const model::Policy& policy);
// Writes `text` to `path` readable only by the owner (0600), replacing the file.
Expected<void, std::string> write_private_file(const std::string& path, std::string_view text);
Expected<std::string, std::string> read_text_file(const std::string& path);

// Lookups by name or {GUID} inside a policy being edited (nullptr when absent).
model::FilterList* find_filter_list(model::Policy& policy, std::string_view name);
model::FilterAction* find_filter_action(model::Policy& policy, std::string_view name);
model::Rule* find_rule(model::Policy& policy, std::string_view name);
// "yes"/"no" -> bool.
std::optional<bool> parse_yes_no(std::string_view text);

}  // namespace ward::dircli
