// KerberosClientCredentials: a TGT for a host principal, obtained from its keytab into a
// private in-memory credential cache, made the GSS-API default for the calling thread while
// an object of ScopedGssCcache lives. The system's default ccache is never touched.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "directory/model/secret.h"

namespace ward::ldap {

struct KerberosError {
  std::string step;     // "parse principal", "resolve keytab", "get initial credentials", ...
  std::string message;  // the krb5 library's message (never key material)
};

class KerberosClientCredentials {
 public:
  // Gets initial credentials for `client_principal` (e.g. "host/h.example.com@EXAMPLE.COM")
  // from `keytab` ("FILE:/path" or a path) into a new MEMORY: ccache, or into `ccache_name`
  // (e.g. "FILE:/private/dir/ccache", for libraries with a Kerberos of their own, such as
  // Samba's); the ccache is destroyed with the object.
  static Expected<std::unique_ptr<KerberosClientCredentials>, KerberosError> acquire(
      const std::string& keytab, const std::string& client_principal, const std::string& ccache_name = {});
  ~KerberosClientCredentials();
  KerberosClientCredentials(const KerberosClientCredentials&) = delete;
  KerberosClientCredentials& operator=(const KerberosClientCredentials&) = delete;

  // "MEMORY:<unique>"
  const std::string& ccache_name() const { return ccache_name_; }

  // The initial ticket (TGT and its session key) as krb5_marshal_credentials writes it: what a
  // process that must not read the keytab needs to bind (adopt() on its side). A secret.
  Expected<model::Secret, KerberosError> marshal_initial_ticket() const;
  // A ccache holding the ticket marshal_initial_ticket() wrote (the client principal is the
  // ticket's): a new MEMORY: one, or `ccache_name` (initialized afresh; destroyed with the object).
  // Errors name the step; a body that is no marshalled credential is one.
  static Expected<std::unique_ptr<KerberosClientCredentials>, KerberosError> adopt(std::string_view marshalled,
                                                                                    const std::string& ccache_name = {});
  // Puts the ticket marshal_initial_ticket() wrote in this object's ccache in place of what it held
  // (re-initialized, never destroyed: a bind on another thread that resolves the ccache by name
  // meanwhile finds it). On error the ccache may be empty.
  Expected<void, KerberosError> replace(std::string_view marshalled);
  // When the initial ticket (the TGT) expires, in seconds since the epoch.
  Expected<std::int64_t, KerberosError> initial_ticket_end() const;

 private:
  struct Handles;
  explicit KerberosClientCredentials(std::unique_ptr<Handles> handles, std::string name);
  std::unique_ptr<Handles> handles_;
  std::string ccache_name_;
};

// The client principal of the caller's default credential cache (KRB5CCNAME, or the user's
// ccache after `kinit`), checked to hold tickets. If `expected_principal` is not empty the
// cache must belong to it. Errors name the cache; step "default ccache" means no ticket.
Expected<std::string, KerberosError> default_ccache_principal(const std::string& expected_principal);

// Points this thread's GSS-API default ccache at `ccache_name` (gss_krb5_ccache_name) and
// restores the previous setting on destruction.
class ScopedGssCcache {
 public:
  explicit ScopedGssCcache(const std::string& ccache_name);
  ~ScopedGssCcache();
  ScopedGssCcache(const ScopedGssCcache&) = delete;
  ScopedGssCcache& operator=(const ScopedGssCcache&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  bool had_previous_ = false;
  std::string previous_;
};

}  // namespace ward::ldap
