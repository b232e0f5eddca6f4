#include "tests/harness/replicated_slapd.h"

#include <ldap.h>

#include <algorithm>
#include <thread>

#include "tests/harness/ldap_handle.h"

namespace ward::test {
namespace {

constexpr auto kConvergePoll = std::chrono::milliseconds(50);

struct MessageDeleter {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
struct ValuesDeleter {
  void operator()(berval** v) const { ldap_value_free_len(v); }
};

}  // namespace

Expected<std::vector<std::string>, HarnessError> context_csns(const std::string& uri, const std::string& suffix) {
  LDAP* raw = nullptr;
  if (ldap_initialize(&raw, uri.c_str()) != LDAP_SUCCESS) return unexpected(HarnessError{"contextCSN of " + uri, "bad URI"});
  std::unique_ptr<LDAP, LdapDeleter> ld(raw);
  int version = LDAP_VERSION3;
  ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
  timeval network{2, 0};
  ldap_set_option(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &network);
  char attribute[] = "contextCSN";
  char* attrs[] = {attribute, nullptr};
  LDAPMessage* raw_result = nullptr;
  timeval timeout{5, 0};
  const int rc = ldap_search_ext_s(ld.get(), suffix.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, nullptr,
                                   nullptr, &timeout, 0, &raw_result);
  std::unique_ptr<LDAPMessage, MessageDeleter> result(raw_result);
  if (rc != LDAP_SUCCESS) return unexpected(HarnessError{"contextCSN of " + uri, ldap_err2string(rc)});
  std::vector<std::string> out;
  LDAPMessage* entry = ldap_first_entry(ld.get(), result.get());
  if (entry == nullptr) return out;
  std::unique_ptr<berval*, ValuesDeleter> values(ldap_get_values_len(ld.get(), entry, attribute));
  for (berval** v = values.get(); v != nullptr && *v != nullptr; ++v) out.emplace_back((*v)->bv_val, (*v)->bv_len);
  std::sort(out.begin(), out.end());
  return out;
}

Expected<std::unique_ptr<ReplicatedSlapd>, HarnessError> ReplicatedSlapd::start(SlapdOptions options) {
  auto first_port = free_loopback_port();
  if (!first_port) return unexpected(first_port.error());
  std::uint16_t second_port = 0;
  for (int attempt = 0; attempt < 5 && (second_port == 0 || second_port == *first_port); ++attempt) {
    auto port = free_loopback_port();
    if (!port) return unexpected(port.error());
    second_port = *port;
  }
  const auto uri_of = [](std::uint16_t port) { return "ldap://127.0.0.1:" + std::to_string(port); };
  std::unique_ptr<ReplicatedSlapd> out(new ReplicatedSlapd);

  SlapdOptions first = options;
  first.port = *first_port;
  first.replication = SlapdOptions::Replication{1, {uri_of(second_port)}};
  auto one = SlapdInstance::start(first);
  if (!one) return unexpected(one.error());
  auto exported = (*one)->export_ldif();
  if (!exported) return unexpected(exported.error());

  SlapdOptions second = options;
  second.port = second_port;
  second.replication = SlapdOptions::Replication{2, {uri_of(*first_port)}};
  second.create_suffix_entry = false;
  second.initial_ldif = {*exported};
  auto two = SlapdInstance::start(second);
  if (!two) return unexpected(two.error());
  out->providers_.push_back(std::move(*one));
  out->providers_.push_back(std::move(*two));
  return out;
}

std::vector<std::string> ReplicatedSlapd::uris() const {
  std::vector<std::string> out;
  for (const auto& p : providers_) out.push_back(p->ldap_uri());
  return out;
}

Expected<void, HarnessError> ReplicatedSlapd::wait_converged(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string& suffix = providers_.front()->options().suffix;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto a = context_csns(providers_[0]->ldap_uri(), suffix);
    auto b = context_csns(providers_[1]->ldap_uri(), suffix);
    if (a && b && *a == *b && !a->empty()) return {};
    last = a && b ? "contextCSNs differ" : (a ? b.error().to_string() : a.error().to_string());
    std::this_thread::sleep_for(kConvergePoll);
  }
  return unexpected(HarnessError{"replication between " + providers_[0]->ldap_uri() + " and " + providers_[1]->ldap_uri(),
                                 "not converged within " + std::to_string(timeout.count()) + " ms (" + last + ")"});
}

}  // namespace ward::test
