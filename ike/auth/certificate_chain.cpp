#include "ike/auth/certificate_chain.h"

#include <openssl/err.h>

#include <memory>

#include "ike/auth/x509_util.h"

namespace ward::ike::auth {
namespace {

struct StoreDeleter {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct X509StackDeleter {   // the stack only: the certificates belong to someone else
  void operator()(STACK_OF(X509)* p) const { sk_X509_free(p); }
};
using StorePtr = std::unique_ptr<X509_STORE, StoreDeleter>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

bool is_crl_error(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
      return true;
    default:
      return false;
  }
}

// OpenSSL asks this about every problem it finds; 1 carries on. The trust anchor (the top of the
// chain, trusted by configuration) needs no CRL of its own issuer; under IfPresent an issuer
// without a CRL is no error. Everything else (a revoked certificate included) stands.
int on_verify_problem(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  const int error = X509_STORE_CTX_get_error(ctx);
  const auto* check = static_cast<const RevocationCheck*>(X509_STORE_CTX_get_app_data(ctx));
  const STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  const bool at_anchor = chain != nullptr && X509_STORE_CTX_get_error_depth(ctx) == sk_X509_num(chain) - 1;
  if (at_anchor && is_crl_error(error)) return 1;
  if (error == X509_V_ERR_UNABLE_TO_GET_CRL && check != nullptr && *check == RevocationCheck::IfPresent) return 1;
  return 0;
}

}  // namespace

std::string_view name(RevocationCheck check) noexcept {
  switch (check) {
    case RevocationCheck::IfPresent: return "if-present";
    case RevocationCheck::Required: return "required";
  }
  return "?";
}

std::optional<RevocationCheck> parse_revocation_check(std::string_view text) noexcept {
  for (const auto check : {RevocationCheck::IfPresent, RevocationCheck::Required}) {
    if (text == name(check)) return check;
  }
  return std::nullopt;
}

Expected<void, std::string> verify_chain(const ChainToCheck& chain) {
  const std::string& who = chain.who;
  StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return unexpected(std::string("out of memory checking a certificate"));
  bool built = true;
  for (X509* anchor : chain.anchors) built = built && X509_STORE_add_cert(store.get(), anchor) == 1;
  for (X509* ca : chain.other_cas) built = built && sk_X509_push(untrusted.get(), ca) > 0;
  for (X509* sent : chain.sent) built = built && sk_X509_push(untrusted.get(), sent) > 0;
  for (X509_CRL* crl : chain.crls) built = built && X509_STORE_add_crl(store.get(), crl) == 1;
  if (!built) return unexpected("cannot build the trust store to check " + who + ": " + x509::openssl_error());
  ERR_clear_error();
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain.leaf, untrusted.get()) != 1) {
    return unexpected("cannot check the certificate of " + who + ": " + x509::openssl_error());
  }
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;   // the named CA is the anchor even if it is not a root
  if (!chain.crls.empty() || chain.revocation == RevocationCheck::Required) {
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (chain.at) X509_VERIFY_PARAM_set_time(param, *chain.at);
  X509_STORE_CTX_set_app_data(ctx.get(), const_cast<RevocationCheck*>(&chain.revocation));
  X509_STORE_CTX_set_verify_cb(ctx.get(), on_verify_problem);
  if (X509_verify_cert(ctx.get()) == 1) return {};

  const int error = X509_STORE_CTX_get_error(ctx.get());
  X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
  if (at == nullptr) at = chain.leaf;
  const std::string which =
      at == chain.leaf ? "certificate of " + who : "CA certificate \"" + x509::subject_of(at) + "\" in the chain of " + who;
  const std::string issuer = x509::issuer_of(at);
  ERR_clear_error();
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return unexpected(which + " expired on " + x509::time_text(X509_get0_notAfter(at)));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return unexpected(which + " is not valid before " + x509::time_text(X509_get0_notBefore(at)) + " (check both hosts' clocks)");
    case X509_V_ERR_CERT_REVOKED:
      return unexpected(which + " is revoked (in the CRL of \"" + issuer + "\")");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return unexpected("certificate of " + who + " is not signed by the trusted CA \"" + chain.ca_name + "\" (its issuer is \"" +
                        issuer + "\")");
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return unexpected(which + " has a signature that does not verify: it was altered or not issued by \"" + issuer + "\"");
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return unexpected("no CRL of \"" + issuer + "\" in the trust store to check the " + which +
                        " (revocation = required)");
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return unexpected("the CRL of \"" + issuer + "\" has expired: put a current CRL in the trust store to accept " + who);
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return unexpected("the CRL of \"" + issuer + "\" is not valid yet (check the clock)");
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      return unexpected("the CRL of \"" + issuer + "\" in the trust store has a bad signature");
    default:
      return unexpected(which + " does not verify: " + X509_verify_cert_error_string(error));
  }
}

}  // namespace ward::ike::auth
