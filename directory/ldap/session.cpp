#include "directory/ldap/session.h"

#include "common/krb5_clock.h"

#include <ldap.h>
#include <sasl/sasl.h>

#include <utility>

#include "directory/ldap/kerberos_client.h"
#include "directory/ldap/ldap_string.h"
#include "directory/ldap/session_handle.h"
#include "directory/ldap/uri.h"

namespace ward::ldap {

namespace {

constexpr const char* kGssapiMechanism = "GSSAPI";

struct BerElementDeleter {
  void operator()(BerElement* b) const { ber_free(b, 0); }
};

struct BervalsDeleter {
  void operator()(berval** v) const { ldap_value_free_len(v); }
};

}  // namespace

namespace internal {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

int to_ldap_scope(Scope scope) {
  switch (scope) {
    case Scope::kBase: return LDAP_SCOPE_BASE;
    case Scope::kOneLevel: return LDAP_SCOPE_ONELEVEL;
    case Scope::kSubtree: return LDAP_SCOPE_SUBTREE;
  }
  return LDAP_SCOPE_BASE;
}

// Builds an LdapError from libldap's state after a failed call returned `rc`: the result
// text, plus the server's (or the TLS layer's) diagnostic message when there is one.
LdapError make_error(LDAP* ld, int rc, std::string uri, std::string operation, std::string dn) {
  std::string message = ldap_err2string(rc);
  if (ld != nullptr) {
    char* diag = nullptr;
    if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag != nullptr) {
      LdapString owned(diag);
      if (*diag != '\0') message += ": " + std::string(diag);
    }
  }
  return LdapError{std::move(uri), std::move(operation), std::move(dn), rc, std::move(message)};
}

Entry entry_of(LDAP* ld, LDAPMessage* message) {
  Entry entry;
  if (char* dn = ldap_get_dn(ld, message); dn != nullptr) {
    LdapString owned(dn);
    entry.dn = dn;
  }
  BerElement* raw_ber = nullptr;
  for (char* name = ldap_first_attribute(ld, message, &raw_ber); name != nullptr;
       name = ldap_next_attribute(ld, message, raw_ber)) {
    LdapString owned_name(name);
    std::unique_ptr<berval*, BervalsDeleter> values(ldap_get_values_len(ld, message, name));
    auto& out = entry.attributes[name];
    if (values) {
      for (berval** v = values.get(); *v != nullptr; ++v) out.emplace_back((*v)->bv_val, (*v)->bv_len);
    }
  }
  std::unique_ptr<BerElement, BerElementDeleter> ber(raw_ber);
  return entry;
}

}  // namespace internal

using internal::make_error;
using internal::ControlPtr;
using internal::ControlsPtr;
using internal::MessagePtr;
using internal::to_ldap_scope;
using internal::to_timeval;

namespace {

// LDAP_SERVER_SD_FLAGS_OID: SDFlagsRequestValue ::= SEQUENCE { Flags INTEGER }. Not critical: a
// server without it (OpenLDAP) ignores it.
Expected<ControlPtr, int> sd_flags_control_of(std::uint32_t flags) {
  const auto free_with_buffer = [](BerElement* b) { ber_free(b, 1); };
  std::unique_ptr<BerElement, decltype(free_with_buffer)> ber(ber_alloc_t(LBER_USE_DER), free_with_buffer);
  if (!ber) return unexpected(LDAP_NO_MEMORY);
  if (ber_printf(ber.get(), "{i}", static_cast<ber_int_t>(flags)) < 0) return unexpected(LDAP_ENCODING_ERROR);
  berval value{0, nullptr};
  if (ber_flatten2(ber.get(), &value, 0) < 0) return unexpected(LDAP_ENCODING_ERROR);
  LDAPControl* raw = nullptr;
  const int rc = ldap_control_create(kSdFlagsControlOid, 0, &value, 1, &raw);
  if (rc != LDAP_SUCCESS) return unexpected(rc);
  return ControlPtr(raw);
}

// A server result (any code >= 0) means one request/response exchange happened.
void count_if_answered(int rc, std::uint64_t& round_trips) {
  if (rc >= 0) ++round_trips;
}
void count_if_answered(int rc, std::atomic<std::uint64_t>& round_trips) {
  if (rc >= 0) ++round_trips;
}

// Client-side results that leave the connection unusable: the caller must connect again.
bool breaks_connection(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR || rc == LDAP_LOCAL_ERROR ||
         rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

std::atomic<std::uint64_t> next_session_id{1};

bool uri_is_ldaps(const std::string& uri) { return uri.rfind("ldaps://", 0) == 0; }

int sasl_no_interaction(LDAP*, unsigned, void*, void* prompts) {
  // GSSAPI needs no prompts; answer any with the default (empty) value.
  for (auto* p = static_cast<sasl_interact_t*>(prompts); p != nullptr && p->id != SASL_CB_LIST_END; ++p) {
    p->result = p->defresult != nullptr ? p->defresult : "";
    p->len = static_cast<unsigned>(p->defresult != nullptr ? std::char_traits<char>::length(p->defresult) : 0);
  }
  return LDAP_SUCCESS;
}

class Connector {
 public:
  Connector(const SessionOptions& options, std::uint64_t& round_trips) : options_(options), round_trips_(round_trips) {}

  Expected<std::unique_ptr<Session::Handle>, LdapError> open(const std::string& uri) {
    LDAP* raw = nullptr;
    if (int rc = ldap_initialize(&raw, uri.c_str()); rc != LDAP_SUCCESS) {
      return unexpected(LdapError{uri, "connect", "", rc, std::string("invalid URI: ") + ldap_err2string(rc)});
    }
    auto handle = std::make_unique<Session::Handle>();
    handle->ld.reset(raw);
    LDAP* ld = raw;
    handle->connect_callback = internal::count_wire_bytes(ld, *handle->wire);
    if (!handle->connect_callback) {
      return unexpected(LdapError{uri, "connect", "", result_code::kLocalError, "cannot set libldap's connection callback"});
    }
    if (auto set = set_options(ld, uri); !set) return unexpected(set.error());
    if (options_.tls == TlsMode::kStartTls && !uri_is_ldaps(uri)) {
      int rc = ldap_start_tls_s(ld, nullptr, nullptr);
      count_if_answered(rc, round_trips_);
      if (rc != LDAP_SUCCESS) return unexpected(with_tls_hint(make_error(ld, rc, uri, "StartTLS", "")));
    }
    auto bound = bind(ld, uri);
    if (!bound) {
      if (uri_is_ldaps(uri)) return unexpected(with_tls_hint(bound.error()));
      return unexpected(bound.error());
    }
    return handle;
  }

 private:
  // libldap (GnuTLS) reports a failed handshake as "Connect error" or, for ldaps://, as
  // "Can't contact LDAP server", with no reason; name the likely causes and the CA file.
  LdapError with_tls_hint(LdapError error) const {
    if (error.result_code == LDAP_CONNECT_ERROR) {
      error.message = "TLS handshake failed: the server certificate is not trusted by CA file '" +
                      options_.ca_file + "' or does not name the host in the URI (libldap: " + error.message + ")";
    } else if (error.result_code == LDAP_SERVER_DOWN) {
      error.message = "cannot connect, or the TLS handshake failed (server certificate not trusted by CA file '" +
                      options_.ca_file + "' or not naming the host in the URI) (libldap: " + error.message + ")";
    }
    return error;
  }

  Expected<void, LdapError> set_options(LDAP* ld, const std::string& uri) {
    auto option_error = [&](const char* what) {
      return unexpected(LdapError{uri, "connect", "", result_code::kLocalError,
                                  std::string("cannot set libldap option ") + what});
    };
    int version = LDAP_VERSION3;
    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS) return option_error("version");
    if (ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS) return option_error("referrals");
    timeval network = to_timeval(options_.network_timeout);
    if (ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &network) != LDAP_OPT_SUCCESS) {
      return option_error("network timeout");
    }
    timeval operation = to_timeval(options_.operation_timeout);
    if (ldap_set_option(ld, LDAP_OPT_TIMEOUT, &operation) != LDAP_OPT_SUCCESS) return option_error("timeout");
    if (options_.keepalive.idle.count() > 0) {
      int idle = static_cast<int>(options_.keepalive.idle.count());
      int interval = static_cast<int>(options_.keepalive.interval.count());
      int probes = options_.keepalive.probes;
      unsigned user_timeout = static_cast<unsigned>(options_.keepalive.span().count());
      if (ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle) != LDAP_OPT_SUCCESS ||
          ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &interval) != LDAP_OPT_SUCCESS ||
          ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes) != LDAP_OPT_SUCCESS ||
          ldap_set_option(ld, LDAP_OPT_TCP_USER_TIMEOUT, &user_timeout) != LDAP_OPT_SUCCESS) {
        return option_error("TCP keepalive");
      }
    }
    if (std::holds_alternative<GssapiBind>(options_.bind) &&
        ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON) != LDAP_OPT_SUCCESS) {
      return option_error("SASL no-canonicalisation");
    }
    const bool tls = options_.tls == TlsMode::kStartTls || uri_is_ldaps(uri);
    if (!tls) return {};
    if (options_.ca_file.empty()) {
      return unexpected(LdapError{uri, "TLS setup", "", result_code::kParamError,
                                  "TLS requested but no CA file given to verify the server certificate"});
    }
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, options_.ca_file.c_str()) != LDAP_OPT_SUCCESS) {
      return option_error("TLS CA file");
    }
    int require = LDAP_OPT_X_TLS_HARD;
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require) != LDAP_OPT_SUCCESS) {
      return option_error("TLS require certificate");
    }
    int min_protocol = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_protocol) != LDAP_OPT_SUCCESS) {
      return option_error("TLS minimum protocol");
    }
    // A TLS context of this session's own, built from the options above (not the global one).
    int is_server = 0;
    if (int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server); rc != LDAP_OPT_SUCCESS) {
      return unexpected(LdapError{uri, "TLS setup", "", rc,
                                  "cannot create a TLS context with CA file '" + options_.ca_file + "'"});
    }
    return {};
  }

  Expected<void, LdapError> bind(LDAP* ld, const std::string& uri) {
    return std::visit([&](const auto& credentials) { return bind_with(ld, uri, credentials); }, options_.bind);
  }

  Expected<void, LdapError> bind_with(LDAP* ld, const std::string& uri, const AnonymousBind&) {
    berval empty{0, nullptr};
    int rc = ldap_sasl_bind_s(ld, "", LDAP_SASL_SIMPLE, &empty, nullptr, nullptr, nullptr);
    count_if_answered(rc, round_trips_);
    if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri, "anonymous bind", ""));
    return {};
  }

  Expected<void, LdapError> bind_with(LDAP* ld, const std::string& uri, const SimpleBind& credentials) {
    if (credentials.password.empty()) {
      // RFC 4513 5.1.2: a DN with an empty password is an unauthenticated bind that "succeeds".
      return unexpected(LdapError{uri, "simple bind", credentials.dn, result_code::kParamError,
                                  "empty password refused (it would be an unauthenticated bind)"});
    }
    std::string_view password = credentials.password.reveal();
    berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
    int rc = ldap_sasl_bind_s(ld, credentials.dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    count_if_answered(rc, round_trips_);
    if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri, "simple bind", credentials.dn));
    return {};
  }

  Expected<void, LdapError> bind_with(LDAP* ld, const std::string& uri, const GssapiBind& credentials) {
    const std::string operation = "SASL/GSSAPI bind";
    if (auto problem = gssapi_uri_problem(uri)) {
      return unexpected(LdapError{uri, operation, credentials.client_principal, result_code::kParamError, *problem});
    }
    if (!credentials.ccache.empty()) {
      ScopedGssCcache use_ccache(credentials.ccache);
      if (!use_ccache.ok()) {
        return unexpected(LdapError{uri, operation, credentials.client_principal, result_code::kLocalError,
                                    "cannot point GSS-API at the credential cache " + credentials.ccache});
      }
      return sasl_gssapi_exchange(ld, uri, operation, credentials.client_principal);
    }
    if (credentials.keytab.empty()) {
      // The caller's own tickets: GSS-API reads the default ccache itself.
      auto principal = default_ccache_principal(credentials.client_principal);
      if (!principal) {
        return unexpected(LdapError{uri, operation, credentials.client_principal, result_code::kLocalError,
                                    "kerberos: " + principal.error().step + ": " + principal.error().message});
      }
      return sasl_gssapi_exchange(ld, uri, operation, *principal);
    }
    auto tgt = KerberosClientCredentials::acquire(credentials.keytab, credentials.client_principal);
    if (!tgt) {
      return unexpected(LdapError{uri, operation, credentials.client_principal, result_code::kLocalError,
                                  "kerberos: " + tgt.error().step + ": " + tgt.error().message});
    }
    ScopedGssCcache use_ccache((*tgt)->ccache_name());
    if (!use_ccache.ok()) {
      return unexpected(LdapError{uri, operation, credentials.client_principal, result_code::kLocalError,
                                  "cannot point GSS-API at the private credential cache"});
    }
    auto bound = sasl_gssapi_exchange(ld, uri, operation, credentials.client_principal);
    // The server's reason stays on the server (slapd answers "GSSAPI Failure: gss_accept_sec_context"
    // for a ticket outside its clock skew): ask the KDC for its time, and when it differs from ours
    // by more than Kerberos allows, say so first.
    if (!bound) {
      LdapError error = bound.error();
      auto skew = krb5_clock::mentions_clock_error(error.message)
                      ? std::optional(krb5_clock::describe_clock_skew(credentials.keytab, credentials.client_principal))
                      : krb5_clock::kdc_clock_skew(credentials.keytab, credentials.client_principal);
      if (skew) {
        error.message = *skew + " (" + error.message + ")";
        return unexpected(std::move(error));
      }
    }
    return bound;
  }

  Expected<void, LdapError> sasl_gssapi_exchange(LDAP* ld, const std::string& uri, const std::string& operation,
                                                 const std::string& principal) {
    // ldap_sasl_interactive_bind_s, spelled out so that each exchange is counted.
    timeval timeout = to_timeval(options_.operation_timeout);
    LDAPMessage* result = nullptr;
    const char* rmech = nullptr;
    int msgid = 0;
    int rc = LDAP_SUCCESS;
    for (;;) {
      rc = ldap_sasl_interactive_bind(ld, nullptr, kGssapiMechanism, nullptr, nullptr, LDAP_SASL_QUIET,
                                      sasl_no_interaction, nullptr, result, &rmech, &msgid);
      ldap_msgfree(result);
      result = nullptr;
      if (rc != LDAP_SASL_BIND_IN_PROGRESS) break;
      int got = ldap_result(ld, msgid, LDAP_MSG_ALL, &timeout, &result);
      if (got <= 0 || result == nullptr) {
        if (got == 0) rc = LDAP_TIMEOUT;
        else ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
        return unexpected(make_error(ld, rc, uri, operation, principal));
      }
      ++round_trips_;
    }
    if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri, operation, principal));
    return {};
  }

  const SessionOptions& options_;
  std::uint64_t& round_trips_;
};

std::vector<Entry> collect_entries(LDAP* ld, LDAPMessage* chain) {
  std::vector<Entry> entries;
  for (LDAPMessage* e = ldap_first_entry(ld, chain); e != nullptr; e = ldap_next_entry(ld, e)) {
    entries.push_back(internal::entry_of(ld, e));
  }
  return entries;
}

// LDAPMod arrays pointing into `values`; they live as long as this object.
class ModList {
 public:
  explicit ModList(std::size_t count) { items_.reserve(count); }

  void add(int op, const std::string& attribute, const std::vector<std::string>& values) {
    auto& item = items_.emplace_back();
    item.attribute = attribute;
    for (const auto& v : values) item.bervals.push_back(berval{static_cast<ber_len_t>(v.size()), const_cast<char*>(v.data())});
    item.op = op;
  }
  LDAPMod** finish() {
    for (auto& item : items_) {
      for (auto& bv : item.bervals) item.pointers.push_back(&bv);
      item.pointers.push_back(nullptr);
      item.mod.mod_op = item.op | LDAP_MOD_BVALUES;
      item.mod.mod_type = item.attribute.data();
      item.mod.mod_bvalues = item.bervals.empty() ? nullptr : item.pointers.data();
      mods_.push_back(&item.mod);
    }
    mods_.push_back(nullptr);
    return mods_.data();
  }

 private:
  struct Item {
    int op = 0;
    std::string attribute;
    std::vector<berval> bervals;
    std::vector<berval*> pointers;
    LDAPMod mod{};
  };
  std::vector<Item> items_;  // reserved up front, so pointers into items stay valid
  std::vector<LDAPMod*> mods_;
};

}  // namespace

Session::Session(std::unique_ptr<Handle> handle, std::string uri, std::size_t index, std::vector<LdapError> failed,
                 std::uint64_t round_trips, std::chrono::milliseconds operation_timeout)
    : handle_(std::move(handle)),
      uri_(std::move(uri)),
      uri_index_(index),
      failed_(std::move(failed)),
      round_trips_(round_trips),
      id_(next_session_id++),
      operation_timeout_(operation_timeout) {}

Session::~Session() = default;

std::uint64_t Session::bytes_received() const { return handle_->wire->received.load(); }
std::uint64_t Session::bytes_sent() const { return handle_->wire->sent.load(); }

int Session::descriptor() const {
  std::lock_guard lock(mutex_);
  int fd = -1;
  if (ldap_get_option(handle_->ld.get(), LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS) return -1;
  return fd;
}

void Session::note_result(int rc) {
  if (breaks_connection(rc)) broken_ = true;
}

Expected<std::unique_ptr<Session>, LdapError> Session::connect(const SessionOptions& options) {
  if (options.uris.empty()) {
    return unexpected(LdapError{"", "connect", "", result_code::kParamError, "no directory URI configured"});
  }
  std::uint64_t round_trips = 0;
  std::vector<LdapError> failed;
  Connector connector(options, round_trips);
  for (std::size_t step = 0; step < options.uris.size(); ++step) {
    const std::size_t i = (options.first_uri + step) % options.uris.size();
    auto handle = connector.open(options.uris[i]);
    if (handle) {
      return std::unique_ptr<Session>(new Session(std::move(*handle), options.uris[i], i, std::move(failed),
                                                  round_trips, options.operation_timeout));
    }
    failed.push_back(handle.error());
    if (handle.error().result_code == result_code::kInvalidCredentials) break;
  }
  LdapError last = failed.back();
  if (failed.size() > 1) {
    last.message += " (also failed:";
    for (std::size_t i = 0; i + 1 < failed.size(); ++i) last.message += " [" + failed[i].to_string() + "]";
    last.message += ")";
  }
  return unexpected(std::move(last));
}

namespace {

// LDAPControl structs pointing into `controls` (which must outlive them).
std::vector<LDAPControl> to_ldap_controls(const std::vector<RequestControl>& controls) {
  std::vector<LDAPControl> out;
  for (const auto& c : controls) {
    LDAPControl control{};
    control.ldctl_oid = const_cast<char*>(c.oid.c_str());
    control.ldctl_value = berval{static_cast<ber_len_t>(c.value.size()), const_cast<char*>(c.value.data())};
    control.ldctl_iscritical = c.critical ? 1 : 0;
    out.push_back(control);
  }
  return out;
}

}  // namespace

Expected<std::vector<Entry>, LdapError> Session::search(const SearchRequest& request) { return search(request, {}); }

Expected<std::vector<Entry>, LdapError> Session::search(const SearchRequest& request,
                                                        const std::vector<RequestControl>& extra_controls) {
  std::lock_guard lock(mutex_);
  LDAP* ld = handle_->ld.get();
  std::vector<LDAPControl> extra = to_ldap_controls(extra_controls);
  std::vector<char*> attrs;
  std::vector<std::string> attr_copies = request.attributes;
  for (auto& a : attr_copies) attrs.push_back(a.data());
  attrs.push_back(nullptr);
  char** attr_list = request.attributes.empty() ? nullptr : attrs.data();
  timeval timeout = to_timeval(operation_timeout_);

  std::vector<Entry> entries;
  berval cookie{0, nullptr};
  std::string cookie_bytes;
  ControlPtr sd_flags_control;
  if (request.sd_flags > 0) {
    auto made = sd_flags_control_of(request.sd_flags);
    if (!made) return unexpected(make_error(ld, made.error(), uri_, "search (SD flags control)", request.base));
    sd_flags_control = std::move(*made);
  }
  for (;;) {
    ControlPtr page_control;
    std::vector<LDAPControl*> server_controls;
    if (request.page_size > 0) {
      LDAPControl* raw = nullptr;
      int rc = ldap_create_page_control(ld, static_cast<ber_int_t>(request.page_size), &cookie, 1, &raw);
      if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri_, "search (paged control)", request.base));
      page_control.reset(raw);
      server_controls.push_back(raw);
    }
    if (sd_flags_control) server_controls.push_back(sd_flags_control.get());
    for (auto& control : extra) server_controls.push_back(&control);
    server_controls.push_back(nullptr);
    LDAPMessage* raw_result = nullptr;
    int rc = ldap_search_ext_s(ld, request.base.c_str(), to_ldap_scope(request.scope), request.filter.c_str(),
                               attr_list, 0, server_controls.size() > 1 ? server_controls.data() : nullptr, nullptr,
                               &timeout, 0, &raw_result);
    MessagePtr result(raw_result);
    count_if_answered(rc, round_trips_);
    note_result(rc);
    if (rc != LDAP_SUCCESS) {
      auto error = make_error(ld, rc, uri_, "search", request.base);
      error.message += " (filter " + request.filter + ")";
      return unexpected(std::move(error));
    }
    auto page = collect_entries(ld, result.get());
    entries.insert(entries.end(), std::make_move_iterator(page.begin()), std::make_move_iterator(page.end()));
    if (request.page_size == 0) break;

    int code = LDAP_SUCCESS;
    LDAPControl** raw_controls = nullptr;
    rc = ldap_parse_result(ld, result.get(), &code, nullptr, nullptr, nullptr, &raw_controls, 0);
    ControlsPtr controls(raw_controls);
    if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri_, "search (parse paged result)", request.base));
    LDAPControl* response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, controls.get(), nullptr);
    if (response == nullptr) break;  // server ignored paging (allowed when not critical): all sent
    ber_int_t estimate = 0;
    berval next{0, nullptr};
    rc = ldap_parse_pageresponse_control(ld, response, &estimate, &next);
    if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri_, "search (paged response)", request.base));
    cookie_bytes.assign(next.bv_val != nullptr ? next.bv_val : "", next.bv_len);
    ber_memfree(next.bv_val);
    if (cookie_bytes.empty()) break;
    cookie = berval{static_cast<ber_len_t>(cookie_bytes.size()), cookie_bytes.data()};
  }
  return entries;
}

Expected<void, LdapError> Session::add(std::string_view dn, const std::vector<Attribute>& attributes) {
  std::lock_guard lock(mutex_);
  ModList mods(attributes.size());
  for (const auto& a : attributes) mods.add(LDAP_MOD_ADD, a.name, a.values);
  std::string target(dn);
  int rc = ldap_add_ext_s(handle_->ld.get(), target.c_str(), mods.finish(), nullptr, nullptr);
  count_if_answered(rc, round_trips_);
  note_result(rc);
  if (rc != LDAP_SUCCESS) return unexpected(make_error(handle_->ld.get(), rc, uri_, "add", target));
  return {};
}

Expected<void, LdapError> Session::modify(std::string_view dn, const std::vector<Modification>& modifications) {
  return modify(dn, modifications, {});
}

Expected<void, LdapError> Session::modify(std::string_view dn, const std::vector<Modification>& modifications,
                                          const std::vector<RequestControl>& controls) {
  std::lock_guard lock(mutex_);
  std::vector<LDAPControl> ldap_controls = to_ldap_controls(controls);
  std::vector<LDAPControl*> control_list;
  for (auto& control : ldap_controls) control_list.push_back(&control);
  control_list.push_back(nullptr);
  ModList mods(modifications.size());
  for (const auto& m : modifications) {
    int op = m.op == Modification::Op::kAdd ? LDAP_MOD_ADD
             : m.op == Modification::Op::kReplace ? LDAP_MOD_REPLACE
                                                  : LDAP_MOD_DELETE;
    mods.add(op, m.attribute, m.values);
  }
  std::string target(dn);
  int rc = ldap_modify_ext_s(handle_->ld.get(), target.c_str(), mods.finish(),
                             controls.empty() ? nullptr : control_list.data(), nullptr);
  count_if_answered(rc, round_trips_);
  note_result(rc);
  if (rc != LDAP_SUCCESS) return unexpected(make_error(handle_->ld.get(), rc, uri_, "modify", target));
  return {};
}

Expected<void, LdapError> Session::remove(std::string_view dn) {
  std::lock_guard lock(mutex_);
  std::string target(dn);
  int rc = ldap_delete_ext_s(handle_->ld.get(), target.c_str(), nullptr, nullptr);
  count_if_answered(rc, round_trips_);
  note_result(rc);
  if (rc != LDAP_SUCCESS) return unexpected(make_error(handle_->ld.get(), rc, uri_, "delete", target));
  return {};
}

Expected<std::string, LdapError> Session::whoami() {
  std::lock_guard lock(mutex_);
  berval* authzid = nullptr;
  int rc = ldap_whoami_s(handle_->ld.get(), &authzid, nullptr, nullptr);
  count_if_answered(rc, round_trips_);
  note_result(rc);
  if (rc != LDAP_SUCCESS) return unexpected(make_error(handle_->ld.get(), rc, uri_, "whoami", ""));
  std::string out;
  if (authzid != nullptr) {
    out.assign(authzid->bv_val != nullptr ? authzid->bv_val : "", authzid->bv_len);
    ber_bvfree(authzid);
  }
  return out;
}

}  // namespace ward::ldap
