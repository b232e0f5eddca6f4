#include "directory/ldap/kerberos_client.h"

#include "common/krb5_clock.h"

#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include <functional>
#include <type_traits>

namespace ward::ldap {
namespace {

struct ContextDeleter {
  void operator()(krb5_context c) const { krb5_free_context(c); }
};
using ContextPtr = std::unique_ptr<std::remove_pointer_t<krb5_context>, ContextDeleter>;

std::string krb5_message(krb5_context ctx, krb5_error_code code) {
  const char* text = krb5_get_error_message(ctx, code);
  std::string out = text != nullptr ? text : "unknown krb5 error";
  krb5_free_error_message(ctx, text);
  return out + " (krb5 code " + std::to_string(code) + ")";
}

}  // namespace

struct KerberosClientCredentials::Handles {
  ContextPtr context;
  krb5_ccache ccache = nullptr;
  ~Handles() {
    if (ccache != nullptr) krb5_cc_destroy(context.get(), ccache);
  }
};

KerberosClientCredentials::KerberosClientCredentials(std::unique_ptr<Handles> handles, std::string name)
    : handles_(std::move(handles)), ccache_name_(std::move(name)) {}

KerberosClientCredentials::~KerberosClientCredentials() = default;

Expected<std::unique_ptr<KerberosClientCredentials>, KerberosError> KerberosClientCredentials::acquire(
    const std::string& keytab, const std::string& client_principal, const std::string& ccache_name) {
  krb5_context raw_ctx = nullptr;
  if (krb5_error_code code = krb5_init_context(&raw_ctx); code != 0) {
    return unexpected(KerberosError{"init krb5 context", "krb5_init_context failed (krb5 code " +
                                                             std::to_string(code) + ")"});
  }
  auto handles = std::make_unique<Handles>();
  handles->context.reset(raw_ctx);
  krb5_context ctx = raw_ctx;

  auto fail = [&](const std::string& step, krb5_error_code code) {
    return unexpected(KerberosError{step, krb5_message(ctx, code)});
  };

  krb5_principal client = nullptr;
  if (auto code = krb5_parse_name(ctx, client_principal.c_str(), &client); code != 0) {
    return fail("parse principal '" + client_principal + "'", code);
  }
  std::unique_ptr<krb5_principal_data, std::function<void(krb5_principal)>> client_guard(
      client, [ctx](krb5_principal p) { krb5_free_principal(ctx, p); });

  krb5_keytab kt = nullptr;
  if (auto code = krb5_kt_resolve(ctx, keytab.c_str(), &kt); code != 0) {
    return fail("resolve keytab '" + keytab + "'", code);
  }
  std::unique_ptr<std::remove_pointer_t<krb5_keytab>, std::function<void(krb5_keytab)>> kt_guard(
      kt, [ctx](krb5_keytab k) { krb5_kt_close(ctx, k); });

  krb5_creds creds{};
  if (auto code = krb5_get_init_creds_keytab(ctx, &creds, client, kt, 0, nullptr, nullptr); code != 0) {
    const std::string step = "get initial credentials for '" + client_principal + "' from keytab '" + keytab + "'";
    if (krb5_clock::is_clock_error(code)) {
      return unexpected(KerberosError{step, krb5_clock::describe_clock_skew(keytab, client_principal) + " (" +
                                                krb5_message(ctx, code) + ")"});
    }
    return fail(step, code);
  }
  std::unique_ptr<krb5_creds, std::function<void(krb5_creds*)>> creds_guard(
      &creds, [ctx](krb5_creds* c) { krb5_free_cred_contents(ctx, c); });

  if (ccache_name.empty()) {
    if (auto code = krb5_cc_new_unique(ctx, "MEMORY", nullptr, &handles->ccache); code != 0) {
      return fail("create memory ccache", code);
    }
  } else if (auto code = krb5_cc_resolve(ctx, ccache_name.c_str(), &handles->ccache); code != 0) {
    return fail("resolve ccache '" + ccache_name + "'", code);
  }
  if (auto code = krb5_cc_initialize(ctx, handles->ccache, client); code != 0) {
    return fail("initialize memory ccache", code);
  }
  if (auto code = krb5_cc_store_cred(ctx, handles->ccache, &creds); code != 0) {
    return fail("store credentials in memory ccache", code);
  }
  char* full_name = nullptr;
  if (auto code = krb5_cc_get_full_name(ctx, handles->ccache, &full_name); code != 0) {
    return fail("name memory ccache", code);
  }
  std::string name = full_name;
  krb5_free_string(ctx, full_name);
  return std::unique_ptr<KerberosClientCredentials>(new KerberosClientCredentials(std::move(handles), std::move(name)));
}

namespace {

// The initial ticket (krbtgt/REALM@REALM for the ccache's principal) in `ccache`, into `found`.
Expected<void, KerberosError> retrieve_initial_ticket(krb5_context ctx, krb5_ccache ccache, const std::string& name,
                                                      krb5_creds& found) {
  krb5_principal raw_client = nullptr;
  if (auto code = krb5_cc_get_principal(ctx, ccache, &raw_client); code != 0) {
    return unexpected(KerberosError{"read ccache principal", krb5_message(ctx, code)});
  }
  std::unique_ptr<krb5_principal_data, std::function<void(krb5_principal)>> client(
      raw_client, [ctx](krb5_principal p) { krb5_free_principal(ctx, p); });
  krb5_principal raw_tgs = nullptr;
  const krb5_data& realm = client->realm;
  if (auto code = krb5_build_principal_ext(ctx, &raw_tgs, realm.length, realm.data, KRB5_TGS_NAME_SIZE, KRB5_TGS_NAME,
                                           realm.length, realm.data, 0);
      code != 0) {
    return unexpected(KerberosError{"build krbtgt principal", krb5_message(ctx, code)});
  }
  std::unique_ptr<krb5_principal_data, std::function<void(krb5_principal)>> tgs(
      raw_tgs, [ctx](krb5_principal p) { krb5_free_principal(ctx, p); });
  krb5_creds wanted{};
  wanted.client = client.get();
  wanted.server = tgs.get();
  if (auto code = krb5_cc_retrieve_cred(ctx, ccache, 0, &wanted, &found); code != 0) {
    return unexpected(KerberosError{"find the initial ticket in " + name, krb5_message(ctx, code)});
  }
  return {};
}

}  // namespace

Expected<model::Secret, KerberosError> KerberosClientCredentials::marshal_initial_ticket() const {
  krb5_context ctx = handles_->context.get();
  krb5_creds found{};
  if (auto retrieved = retrieve_initial_ticket(ctx, handles_->ccache, ccache_name_, found); !retrieved) {
    return unexpected(std::move(retrieved.error()));
  }
  krb5_data* out = nullptr;
  const auto marshalled = krb5_marshal_credentials(ctx, &found, &out);
  krb5_free_cred_contents(ctx, &found);
  if (marshalled != 0) return unexpected(KerberosError{"marshal the initial ticket", krb5_message(ctx, marshalled)});
  model::Secret secret(std::string(out->data, out->length));
  krb5_free_data(ctx, out);   // zeroes nothing: krb5_free_data_contents would not either
  return secret;
}

Expected<std::unique_ptr<KerberosClientCredentials>, KerberosError> KerberosClientCredentials::adopt(std::string_view marshalled,
                                                                                                    const std::string& ccache_name) {
  krb5_context raw_ctx = nullptr;
  if (krb5_error_code code = krb5_init_context(&raw_ctx); code != 0) {
    return unexpected(KerberosError{"init krb5 context", "krb5_init_context failed (krb5 code " + std::to_string(code) + ")"});
  }
  auto handles = std::make_unique<Handles>();
  handles->context.reset(raw_ctx);
  krb5_context ctx = raw_ctx;
  auto fail = [&](const std::string& step, krb5_error_code code) {
    return unexpected(KerberosError{step, krb5_message(ctx, code)});
  };
  krb5_data in{};
  in.length = static_cast<unsigned int>(marshalled.size());
  in.data = const_cast<char*>(marshalled.data());
  krb5_creds* creds = nullptr;
  if (auto code = krb5_unmarshal_credentials(ctx, &in, &creds); code != 0) return fail("unmarshal the ticket", code);
  std::unique_ptr<krb5_creds, std::function<void(krb5_creds*)>> guard(creds, [ctx](krb5_creds* c) { krb5_free_creds(ctx, c); });
  if (ccache_name.empty()) {
    if (auto code = krb5_cc_new_unique(ctx, "MEMORY", nullptr, &handles->ccache); code != 0) return fail("create memory ccache", code);
  } else if (auto code = krb5_cc_resolve(ctx, ccache_name.c_str(), &handles->ccache); code != 0) {
    return fail("resolve ccache '" + ccache_name + "'", code);
  }
  if (auto code = krb5_cc_initialize(ctx, handles->ccache, creds->client); code != 0) return fail("initialize memory ccache", code);
  if (auto code = krb5_cc_store_cred(ctx, handles->ccache, creds); code != 0) return fail("store the ticket in memory ccache", code);
  char* full_name = nullptr;
  if (auto code = krb5_cc_get_full_name(ctx, handles->ccache, &full_name); code != 0) return fail("name memory ccache", code);
  std::string name = full_name;
  krb5_free_string(ctx, full_name);
  return std::unique_ptr<KerberosClientCredentials>(new KerberosClientCredentials(std::move(handles), std::move(name)));
}

Expected<std::int64_t, KerberosError> KerberosClientCredentials::initial_ticket_end() const {
  krb5_context ctx = handles_->context.get();
  krb5_creds found{};
  if (auto retrieved = retrieve_initial_ticket(ctx, handles_->ccache, ccache_name_, found); !retrieved) {
    return unexpected(std::move(retrieved.error()));
  }
  const std::int64_t end = static_cast<std::uint32_t>(found.times.endtime);   // krb5_timestamp: unsigned after 2038
  krb5_free_cred_contents(ctx, &found);
  return end;
}

Expected<void, KerberosError> KerberosClientCredentials::replace(std::string_view marshalled) {
  krb5_context ctx = handles_->context.get();
  krb5_data in{};
  in.length = static_cast<unsigned int>(marshalled.size());
  in.data = const_cast<char*>(marshalled.data());
  krb5_creds* creds = nullptr;
  if (auto code = krb5_unmarshal_credentials(ctx, &in, &creds); code != 0) {
    return unexpected(KerberosError{"unmarshal the ticket", krb5_message(ctx, code)});
  }
  std::unique_ptr<krb5_creds, std::function<void(krb5_creds*)>> guard(creds, [ctx](krb5_creds* c) { krb5_free_creds(ctx, c); });
  if (auto code = krb5_cc_initialize(ctx, handles_->ccache, creds->client); code != 0) {
    return unexpected(KerberosError{"initialize " + ccache_name_, krb5_message(ctx, code)});
  }
  if (auto code = krb5_cc_store_cred(ctx, handles_->ccache, creds); code != 0) {
    return unexpected(KerberosError{"store the ticket in " + ccache_name_, krb5_message(ctx, code)});
  }
  return {};
}

Expected<std::string, KerberosError> default_ccache_principal(const std::string& expected_principal) {
  krb5_context raw_ctx = nullptr;
  if (krb5_error_code code = krb5_init_context(&raw_ctx); code != 0) {
    return unexpected(KerberosError{"init krb5 context", "krb5_init_context failed (krb5 code " +
                                                             std::to_string(code) + ")"});
  }
  ContextPtr context(raw_ctx);
  krb5_context ctx = raw_ctx;
  const char* default_name = krb5_cc_default_name(ctx);
  const std::string cache = default_name != nullptr ? default_name : "(unnamed)";
  auto no_ticket = [&](krb5_error_code code) {
    return unexpected(KerberosError{"default ccache", "no Kerberos ticket in the default credential cache '" + cache +
                                                          "': run kinit (" + krb5_message(ctx, code) + ")"});
  };

  krb5_ccache raw_cc = nullptr;
  if (auto code = krb5_cc_default(ctx, &raw_cc); code != 0) return no_ticket(code);
  std::unique_ptr<std::remove_pointer_t<krb5_ccache>, std::function<void(krb5_ccache)>> cc(
      raw_cc, [ctx](krb5_ccache c) { krb5_cc_close(ctx, c); });
  krb5_principal raw_principal = nullptr;
  if (auto code = krb5_cc_get_principal(ctx, cc.get(), &raw_principal); code != 0) return no_ticket(code);
  std::unique_ptr<krb5_principal_data, std::function<void(krb5_principal)>> principal(
      raw_principal, [ctx](krb5_principal p) { krb5_free_principal(ctx, p); });
  char* raw_text = nullptr;
  if (auto code = krb5_unparse_name(ctx, principal.get(), &raw_text); code != 0) {
    return unexpected(KerberosError{"unparse principal", krb5_message(ctx, code)});
  }
  std::string name = raw_text;
  krb5_free_unparsed_name(ctx, raw_text);

  // An initialized cache may still hold no ticket (after kdestroy of the creds, or a bare
  // krb5_cc_initialize): require at least one credential.
  krb5_cc_cursor cursor = nullptr;
  if (auto code = krb5_cc_start_seq_get(ctx, cc.get(), &cursor); code != 0) return no_ticket(code);
  krb5_creds creds{};
  krb5_error_code next = krb5_cc_next_cred(ctx, cc.get(), &cursor, &creds);
  if (next == 0) krb5_free_cred_contents(ctx, &creds);
  krb5_cc_end_seq_get(ctx, cc.get(), &cursor);
  if (next != 0) return no_ticket(next);

  if (!expected_principal.empty()) {
    krb5_principal wanted = nullptr;
    if (auto code = krb5_parse_name(ctx, expected_principal.c_str(), &wanted); code != 0) {
      return unexpected(KerberosError{"parse principal '" + expected_principal + "'", krb5_message(ctx, code)});
    }
    const bool same = krb5_principal_compare(ctx, wanted, principal.get()) != 0;
    krb5_free_principal(ctx, wanted);
    if (!same) {
      return unexpected(KerberosError{"default ccache", "the default credential cache '" + cache +
                                                            "' holds tickets for '" + name + "', not '" +
                                                            expected_principal + "': run kinit " + expected_principal});
    }
  }
  return name;
}

ScopedGssCcache::ScopedGssCcache(const std::string& ccache_name) {
  OM_uint32 minor = 0;
  const char* previous = nullptr;
  ok_ = gss_krb5_ccache_name(&minor, ccache_name.c_str(), &previous) == GSS_S_COMPLETE;
  if (ok_ && previous != nullptr) {
    had_previous_ = true;
    previous_ = previous;
  }
}

ScopedGssCcache::~ScopedGssCcache() {
  if (!ok_) return;
  OM_uint32 minor = 0;
  gss_krb5_ccache_name(&minor, had_previous_ ? previous_.c_str() : nullptr, nullptr);
}

}  // namespace ward::ldap
