#include "ike/auth/kerberos_provider.h"

#include "common/krb5_clock.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <type_traits>

#include "ike/crypto/prf.h"

namespace ward::ike::auth {
namespace {

// ---- GSS handles as unique_ptr with the library's release functions ------------------------------

struct NameDeleter {
  void operator()(gss_name_t name) const {
    OM_uint32 minor = 0;
    gss_release_name(&minor, &name);
  }
};
struct CredDeleter {
  void operator()(gss_cred_id_t cred) const {
    OM_uint32 minor = 0;
    gss_release_cred(&minor, &cred);
  }
};
struct ContextDeleter {
  void operator()(gss_ctx_id_t context) const {
    OM_uint32 minor = 0;
    gss_delete_sec_context(&minor, &context, GSS_C_NO_BUFFER);
  }
};
using NamePtr = std::unique_ptr<std::remove_pointer_t<gss_name_t>, NameDeleter>;
using CredPtr = std::unique_ptr<std::remove_pointer_t<gss_cred_id_t>, CredDeleter>;
using ContextPtr = std::unique_ptr<std::remove_pointer_t<gss_ctx_id_t>, ContextDeleter>;

// A buffer the library allocated (output tokens, display strings); released on scope exit.
class GssBuffer {
 public:
  GssBuffer() = default;
  GssBuffer(const GssBuffer&) = delete;
  GssBuffer& operator=(const GssBuffer&) = delete;
  ~GssBuffer() {
    OM_uint32 minor = 0;
    gss_release_buffer(&minor, &buffer_);
  }
  gss_buffer_t get() noexcept { return &buffer_; }
  std::span<const std::byte> bytes() const noexcept {
    return {static_cast<const std::byte*>(buffer_.value), buffer_.length};
  }
  std::string text() const { return std::string(static_cast<const char*>(buffer_.value), buffer_.length); }

 private:
  gss_buffer_desc buffer_{0, nullptr};
};

// A read-only view of our bytes for the library (which never writes through input buffers).
gss_buffer_desc view(std::span<const std::byte> bytes) {
  return gss_buffer_desc{bytes.size(), const_cast<std::byte*>(bytes.data())};
}

// The Kerberos v5 mechanism (RFC 1964), named explicitly so SPNEGO never gets involved.
gss_OID krb5_mechanism() { return const_cast<gss_OID>(gss_mech_krb5); }

// The texts gss_display_status gives for one status code (all of its messages).
std::string status_text(OM_uint32 code, int type) {
  std::string out;
  OM_uint32 context = 0;
  do {
    OM_uint32 ignored = 0;
    GssBuffer text;
    if (GSS_ERROR(gss_display_status(&ignored, code, type, krb5_mechanism(), &context, text.get()))) break;
    if (!out.empty()) out += ": ";
    out += text.text();
  } while (context != 0);
  return out;
}

// What went wrong, in the library's words: the Kerberos (minor) text says the useful part
// ("Server host/x@R not found in Kerberos database"); the GSS (major) text is added unless it is
// only "Unspecified GSS failure".
std::string gss_error(OM_uint32 major, OM_uint32 minor) {
  const std::string mech = minor != 0 ? status_text(minor, GSS_C_MECH_CODE) : std::string();
  if (!mech.empty() && GSS_ROUTINE_ERROR(major) == GSS_S_FAILURE) return mech;
  std::string out = status_text(major, GSS_C_GSS_CODE);
  if (!mech.empty()) out += (out.empty() ? "" : ": ") + mech;
  return out.empty() ? "GSS-API major status " + std::to_string(major) : out;
}

Expected<NamePtr, std::string> import_principal(const std::string& principal) {
  OM_uint32 minor = 0;
  gss_name_t raw = GSS_C_NO_NAME;
  gss_buffer_desc text{principal.size(), const_cast<char*>(principal.data())};
  const OM_uint32 major = gss_import_name(&minor, &text, const_cast<gss_OID>(GSS_KRB5_NT_PRINCIPAL_NAME), &raw);
  if (GSS_ERROR(major)) return unexpected("'" + principal + "' is not a Kerberos principal name: " + gss_error(major, minor));
  return NamePtr(raw);
}

Expected<std::string, std::string> display(gss_name_t name) {
  OM_uint32 minor = 0;
  GssBuffer text;
  const OM_uint32 major = gss_display_name(&minor, name, text.get(), nullptr);
  if (GSS_ERROR(major)) return unexpected("cannot display the peer's name: " + gss_error(major, minor));
  return text.text();
}

// A MEMORY ccache that holds one exchange's tickets; destroyed (tickets wiped from the process)
// when the exchange ends. The name is random so concurrent exchanges never share one.
class MemoryCcache {
 public:
  static Expected<std::unique_ptr<MemoryCcache>, std::string> create() {
    auto suffix = crypto::random_bytes(12);
    if (!suffix) return unexpected(std::move(suffix).error());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string name = "MEMORY:ward-ike-";
    for (const auto b : *suffix) {
      name += kHex[std::to_integer<unsigned>(b) >> 4];
      name += kHex[std::to_integer<unsigned>(b) & 0xf];
    }
    return std::unique_ptr<MemoryCcache>(new MemoryCcache(std::move(name)));
  }
  MemoryCcache(const MemoryCcache&) = delete;
  MemoryCcache& operator=(const MemoryCcache&) = delete;
  ~MemoryCcache() {
    krb5_context context = nullptr;
    if (krb5_init_context(&context) != 0) return;
    krb5_ccache cache = nullptr;
    if (krb5_cc_resolve(context, name_.c_str(), &cache) == 0) krb5_cc_destroy(context, cache);
    krb5_free_context(context);
  }
  const std::string& name() const noexcept { return name_; }

 private:
  explicit MemoryCcache(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Whether `keytab` holds a key (any version, any enctype) for `principal`, asked of libkrb5
// before GSS-API sees the keytab: the error then names the file and the principal, and the
// library's acquire-credentials failure path (which leaks in MIT krb5 1.20) is never taken.
struct Krb5ContextDeleter {
  void operator()(krb5_context context) const { krb5_free_context(context); }
};
using Krb5ContextPtr = std::unique_ptr<std::remove_pointer_t<krb5_context>, Krb5ContextDeleter>;

Expected<void, std::string> keytab_has_key(const std::string& name, const std::filesystem::path& keytab, const std::string& principal) {
  krb5_context raw_context = nullptr;
  if (const krb5_error_code code = krb5_init_context(&raw_context); code != 0) {
    return unexpected("cannot start libkrb5 (error " + std::to_string(code) + "): is the Kerberos configuration readable?");
  }
  const Krb5ContextPtr context(raw_context);
  auto message = [&](krb5_error_code code) {
    const char* text = krb5_get_error_message(context.get(), code);
    std::string out = text != nullptr ? text : "error " + std::to_string(code);
    krb5_free_error_message(context.get(), text);
    return out;
  };
  krb5_principal raw_principal = nullptr;
  if (const auto code = krb5_parse_name(context.get(), principal.c_str(), &raw_principal); code != 0) {
    return unexpected("'" + principal + "' is not a Kerberos principal name: " + message(code));
  }
  const auto free_principal = [&](krb5_principal p) { krb5_free_principal(context.get(), p); };
  const std::unique_ptr<krb5_principal_data, decltype(free_principal)> parsed(raw_principal, free_principal);
  krb5_keytab raw_keytab = nullptr;
  if (const auto code = krb5_kt_resolve(context.get(), name.c_str(), &raw_keytab); code != 0) {
    return unexpected("keytab " + keytab.string() + " cannot be opened: " + message(code));
  }
  const auto close_keytab = [&](krb5_keytab k) { krb5_kt_close(context.get(), k); };
  const std::unique_ptr<std::remove_pointer_t<krb5_keytab>, decltype(close_keytab)> opened(raw_keytab, close_keytab);
  krb5_keytab_entry entry{};
  if (const auto code = krb5_kt_get_entry(context.get(), opened.get(), parsed.get(), 0, 0, &entry); code != 0) {
    return unexpected("keytab " + keytab.string() + " has no key for " + principal + ": " + message(code));
  }
  krb5_free_keytab_entry_contents(context.get(), &entry);
  return {};
}

std::vector<Payload> token_payloads(std::span<const std::byte> token) {
  std::vector<Payload> out;
  for (std::size_t at = 0; at < token.size(); at += kMaxGssTokenSize) {
    const auto piece = token.subspan(at, std::min(kMaxGssTokenSize, token.size() - at));
    out.push_back(GssToken{{piece.begin(), piece.end()}});
  }
  return out;
}

// The GSS payloads of a message, in order, as one token (a token too big for one payload is
// split over several, see token_payloads).
std::vector<std::byte> token_of(const ParsedMessage& message) {
  std::vector<std::byte> token;
  for (const auto& payload : message.payloads) {
    if (const auto* gss = std::get_if<GssToken>(&payload)) token.insert(token.end(), gss->data.begin(), gss->data.end());
  }
  return token;
}

std::string_view message_name(Role sender) { return sender == Role::Initiator ? "main mode 3" : "main mode 4"; }

// ---- one exchange -----------------------------------------------------------------------------------

class KerberosExchange final : public AuthProvider {
 public:
  KerberosExchange(KerberosConfig config, std::string keytab_name, KerberosProvider::InitiatorTickets tickets, IpAddress peer)
      : config_(std::move(config)), keytab_name_(std::move(keytab_name)), tickets_(std::move(tickets)), peer_(peer) {}

  IkeAuthenticationMethod method() const noexcept override { return IkeAuthenticationMethod::Kerberos; }
  std::string_view name() const noexcept override { return "Kerberos (GSS-API)"; }
  std::string peer_identity() const override { return authenticated_peer_; }

  SecureBytes skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const override {
    return skeyid_gss(hash, ni_b, nr_b, g_xy);
  }

  Expected<std::vector<Payload>, std::string> build_key_exchange_payloads(Role self) const override {
    if (self == Role::Initiator) {
      auto token = initiate();
      if (!token) return unexpected("Kerberos: " + token.error());
      sent_tokens_.insert(sent_tokens_.end(), token->begin(), token->end());
      return token_payloads(*token);
    }
    if (!context_ || !reply_token_) return unexpected(std::string("Kerberos: no AP-REP to send (main mode 3 not accepted)"));
    sent_tokens_.insert(sent_tokens_.end(), reply_token_->begin(), reply_token_->end());
    auto payloads = token_payloads(*reply_token_);
    reply_token_.reset();
    return payloads;
  }

  Expected<void, std::string> consume_key_exchange_payloads(Role peer, const ParsedMessage& message) const override {
    const auto token = token_of(message);
    if (token.empty()) {
      return unexpected("Kerberos: " + std::string(message_name(peer)) +
                        " carries no GSS token: the peer does not authenticate with Kerberos");
    }
    received_tokens_.insert(received_tokens_.end(), token.begin(), token.end());
    auto done = peer == Role::Initiator ? accept(token) : finish(token);
    if (!done) return unexpected("Kerberos: " + done.error());
    return {};
  }

  Expected<std::vector<Payload>, std::string> build_authentication(Role self, const MainModeTranscript& transcript,
                                                                   Bytes own_id_b) const override {
    if (!established_) return unexpected(std::string("Kerberos: the GSS-API context is not established"));
    if (transcript.skeyid == nullptr) return unexpected(std::string("Kerberos: SKEYID is not derived yet"));
    const auto digest = hash_x(self, transcript, own_id_b, sent_tokens_);
    auto in = view(digest.reveal());
    GssBuffer out;
    OM_uint32 minor = 0;
    int confidential = 0;
    const OM_uint32 major = gss_wrap(&minor, context_.get(), 1, GSS_C_QOP_DEFAULT, &in, &confidential, out.get());
    if (GSS_ERROR(major)) return unexpected("Kerberos: cannot wrap " + hash_name(self) + ": " + gss_error(major, minor));
    const auto wrapped = out.bytes();
    if (wrapped.size() > kMaxHashPayloadData) {
      return unexpected("Kerberos: the wrapped " + hash_name(self) + " is " + std::to_string(wrapped.size()) +
                        " bytes, a HASH payload holds " + std::to_string(kMaxHashPayloadData));
    }
    return std::vector<Payload>{Hash{{wrapped.begin(), wrapped.end()}}};
  }

  Expected<void, IkeError> check_authentication(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                                const ParsedMessage& message) const override {
    return as_authentication_failure(check_hash(peer, transcript, peer_id_b, message));
  }

 private:
  Expected<void, std::string> check_hash(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                         const ParsedMessage& message) const {
    const auto* received = message.find<Hash>();
    if (received == nullptr) {
      return unexpected("Kerberos: " + hash_name(peer) + " missing: the peer did not send a GSS-wrapped HASH");
    }
    if (!established_) return unexpected(std::string("Kerberos: the GSS-API context is not established"));
    if (transcript.skeyid == nullptr) return unexpected(std::string("Kerberos: SKEYID is not derived yet"));
    auto in = view(received->data);
    GssBuffer out;
    OM_uint32 minor = 0;
    const OM_uint32 major = gss_unwrap(&minor, context_.get(), &in, out.get(), nullptr, nullptr);
    if (GSS_ERROR(major)) {
      return unexpected("Kerberos: the peer's " + hash_name(peer) + " did not verify: " + gss_error(major, minor));
    }
    const auto expected = hash_x(peer, transcript, peer_id_b, received_tokens_);
    if (!crypto::equal_constant_time(expected.reveal(), out.bytes())) {
      return unexpected("Kerberos: " + hash_name(peer) +
                        " mismatch: the peer's Kerberos session is genuine but it hashed a different exchange "
                        "(altered message or a different DH value)");
    }
    return {};
  }

  static std::string hash_name(Role of) { return of == Role::Initiator ? "HASH_I" : "HASH_R"; }

  // HASH_I / HASH_R of RFC 2409 5 with the sender's GSS tokens appended (as racoon computes it for
  // draft-ietf-ipsec-isakmp-gss-auth), which binds the Kerberos exchange to this main mode.
  static SecureBytes hash_x(Role of, const MainModeTranscript& t, Bytes id_b, const std::vector<std::byte>& tokens) {
    if (of == Role::Initiator) {
      return crypto::prf(t.hash, t.skeyid->reveal(), {t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b, id_b, tokens});
    }
    return crypto::prf(t.hash, t.skeyid->reveal(), {t.g_xr, t.g_xi, t.cky_r, t.cky_i, t.sai_b, id_b, tokens});
  }

  Expected<std::string, std::string> expected_peer() const {
    if (!config_.peer_principal) return unexpected(std::string("no resolver for peer principals is configured"));
    auto principal = config_.peer_principal(peer_);
    if (!principal) return unexpected("no principal known for peer " + peer_.to_string() + ": " + principal.error());
    return principal;
  }

  // Our credentials: the initiator's come from the keytab's key for own_principal (a TGT, then
  // the service ticket, in a private MEMORY ccache); the acceptor's are the keytab itself.
  // With an acceptor_principal the acceptor takes any key of the keytab (GSS_C_NO_NAME) and
  // accept() then checks that the ticket was for that principal: AD issues tickets for
  // host/<fqdn> under the computer account's key, and a keytab may hold that key under the
  // account's name only (or the host/ name with fewer enctypes, as Samba's exportkeytab does).
  bool accept_any_key() const { return !config_.acceptor_principal.empty(); }
  std::string keytab_name() const { return keytab_name_.empty() ? "FILE:" + config_.keytab.string() : keytab_name_; }

  Expected<void, std::string> acquire(gss_cred_usage_t usage) const {
    const bool any_key = usage == GSS_C_ACCEPT && accept_any_key();
    const std::string& principal = config_.own_principal;
    if (auto key = keytab_has_key(keytab_name(), config_.keytab, principal); !key) return key;
    auto own = import_principal(principal);
    if (!own) return unexpected(own.error());
    const std::string keytab = keytab_name();
    std::vector<gss_key_value_element_desc> elements;
    if (usage == GSS_C_INITIATE) {
      auto ccache = MemoryCcache::create();
      if (!ccache) return unexpected(ccache.error());
      ccache_ = std::move(*ccache);
      if (tickets_) {
        // The tickets are in the ccache before GSS-API looks: it asks no KDC.
        if (auto got = tickets_(ccache_->name(), principal, expected_principal_); !got) return unexpected(got.error());
      } else {
        elements.push_back({"client_keytab", keytab.c_str()});
      }
      elements.push_back({"ccache", ccache_->name().c_str()});
    } else {
      elements.push_back({"keytab", keytab.c_str()});
      if (!config_.replay_cache.empty()) elements.push_back({"rcache", config_.replay_cache.c_str()});
    }
    gss_key_value_set_desc store{static_cast<OM_uint32>(elements.size()), elements.data()};
    gss_OID_desc mech = *krb5_mechanism();
    gss_OID_set_desc mechs{1, &mech};
    OM_uint32 minor = 0;
    gss_cred_id_t raw = GSS_C_NO_CREDENTIAL;
    const OM_uint32 major =
        gss_acquire_cred_from(&minor, any_key ? GSS_C_NO_NAME : own->get(), GSS_C_INDEFINITE, &mechs, usage, &store,
                              &raw, nullptr, nullptr);
    if (GSS_ERROR(major)) {
      return unexpected(with_clock_skew("keytab " + config_.keytab.string() + " has no usable key for " +
                                            principal + ": " + gss_error(major, minor),
                                        minor));
    }
    credentials_.reset(raw);
    return {};
  }

  // Initiator, message 3: the AP-REQ for the peer's principal (mutual authentication requested).
  Expected<std::vector<std::byte>, std::string> initiate() const {
    auto target = expected_peer();
    if (!target) return unexpected(target.error());
    expected_principal_ = *target;
    auto target_name = import_principal(*target);
    if (!target_name) return unexpected(target_name.error());
    target_ = std::move(*target_name);
    if (auto acquired = acquire(GSS_C_INITIATE); !acquired) return unexpected(acquired.error());
    GssBuffer out;
    OM_uint32 minor = 0;
    OM_uint32 flags = 0;
    gss_ctx_id_t raw = GSS_C_NO_CONTEXT;
    const OM_uint32 major = gss_init_sec_context(
        &minor, credentials_.get(), &raw, target_.get(), krb5_mechanism(),
        GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG, GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS,
        GSS_C_NO_BUFFER, nullptr, out.get(), &flags, nullptr);
    context_.reset(raw);
    if (GSS_ERROR(major)) return unexpected(with_clock_skew("no ticket for " + *target + ": " + gss_error(major, minor), minor));
    if (major != GSS_S_CONTINUE_NEEDED) {
      return unexpected("the GSS-API mechanism did not ask for mutual authentication with " + *target);
    }
    const auto token = out.bytes();
    if (token.empty()) return unexpected("the GSS-API mechanism produced no token for " + *target);
    return std::vector<std::byte>(token.begin(), token.end());
  }

  // Initiator, message 4: the AP-REP proves the peer holds the key of the principal we asked for.
  Expected<void, std::string> finish(const std::vector<std::byte>& token) const {
    if (!context_) return unexpected(std::string("main mode 4 before our AP-REQ was built"));
    auto in = view(token);
    GssBuffer out;
    OM_uint32 minor = 0;
    OM_uint32 flags = 0;
    gss_ctx_id_t raw = context_.release();
    const OM_uint32 major = gss_init_sec_context(&minor, credentials_.get(), &raw, target_.get(), krb5_mechanism(),
                                                 GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG,
                                                 GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS, &in, nullptr, out.get(),
                                                 &flags, nullptr);
    context_.reset(raw);
    if (GSS_ERROR(major)) {
      return unexpected(with_clock_skew(
          "the peer's token did not verify (" + expected_principal_ + "): " + gss_error(major, minor), minor));
    }
    if (major == GSS_S_CONTINUE_NEEDED) {
      return unexpected(std::string("the GSS-API mechanism wants another round trip after main mode 4, which "
                                    "main mode has no message for"));
    }
    if ((flags & GSS_C_MUTUAL_FLAG) == 0) {
      return unexpected("the peer did not authenticate itself as " + expected_principal_ + " (no mutual authentication)");
    }
    established_ = true;
    authenticated_peer_ = expected_principal_;
    return {};
  }

  // Responder, message 3: accept the AP-REQ with our keytab, check who the client is, keep the AP-REP.
  Expected<void, std::string> accept(const std::vector<std::byte>& token) const {
    if (context_) return unexpected(std::string("a second AP-REQ in one exchange"));
    auto expected = expected_peer();
    if (!expected) return unexpected(expected.error());
    expected_principal_ = *expected;
    if (auto acquired = acquire(GSS_C_ACCEPT); !acquired) return unexpected(acquired.error());
    auto in = view(token);
    GssBuffer out;
    OM_uint32 minor = 0;
    OM_uint32 flags = 0;
    gss_name_t client = GSS_C_NO_NAME;
    gss_ctx_id_t raw = GSS_C_NO_CONTEXT;
    const OM_uint32 major = gss_accept_sec_context(&minor, &raw, credentials_.get(), &in, GSS_C_NO_CHANNEL_BINDINGS,
                                                   &client, nullptr, out.get(), &flags, nullptr, nullptr);
    context_.reset(raw);
    NamePtr client_name(client);
    if (GSS_ERROR(major)) {
      std::string reason = "the peer's token did not verify: " + gss_error(major, minor);
      if (minor == static_cast<OM_uint32>(KRB5_KT_KVNONOTFOUND) || minor == static_cast<OM_uint32>(KRB5KRB_AP_ERR_BADKEYVER)) {
        reason += " (keytab " + config_.keytab.string() + " is older than " + config_.own_principal +
                  "'s key in the KDC: extract the keytab again)";
      }
      return unexpected(with_clock_skew(std::move(reason), minor));
    }
    if (major == GSS_S_CONTINUE_NEEDED) {
      return unexpected(std::string("the GSS-API mechanism wants another round trip after main mode 3, which "
                                    "main mode has no message for"));
    }
    if ((flags & GSS_C_MUTUAL_FLAG) == 0 || out.bytes().empty()) {
      return unexpected(std::string("the peer did not ask for mutual authentication"));
    }
    auto who = display(client_name.get());
    if (!who) return unexpected(who.error());
    if (accept_any_key()) {
      gss_name_t raw_target = GSS_C_NO_NAME;
      OM_uint32 inquire_minor = 0;
      const OM_uint32 inquired = gss_inquire_context(&inquire_minor, context_.get(), nullptr, &raw_target, nullptr,
                                                     nullptr, nullptr, nullptr, nullptr);
      NamePtr target_name(raw_target);
      if (GSS_ERROR(inquired)) return unexpected("cannot tell whom the ticket is for: " + gss_error(inquired, inquire_minor));
      auto target = display(target_name.get());
      if (!target) return unexpected(target.error());
      if (*target != config_.acceptor_principal && *target != config_.own_principal) {
        return unexpected("the peer " + peer_.to_string() + " sent a ticket for " + *target + ", not for " +
                          config_.acceptor_principal);
      }
    }
    const std::string account = computer_account_principal(expected_principal_);
    if (*who != expected_principal_ && (account.empty() || *who != account)) {
      return unexpected("the peer " + peer_.to_string() + " authenticated as " + *who + ", the policy expects " +
                        expected_principal_ + (account.empty() ? "" : " or " + account));
    }
    const auto reply = out.bytes();
    reply_token_.emplace(reply.begin(), reply.end());
    established_ = true;
    authenticated_peer_ = *who;
    return {};
  }

  // A clock error (the ticket or the authenticator outside the allowed skew) is said as clock
  // skew first, with this host's and the KDC's times; the library's words follow in brackets.
  std::string with_clock_skew(std::string reason, OM_uint32 minor) const {
    if (!krb5_clock::is_clock_error(static_cast<std::int32_t>(minor))) return reason;
    return krb5_clock::describe_clock_skew(keytab_name(), config_.own_principal) + " (" + reason +
           ")";
  }

  const KerberosConfig config_;
  const std::string keytab_name_;
  const KerberosProvider::InitiatorTickets tickets_;
  const IpAddress peer_;
  // The exchange's state. The object belongs to one Phase1Sa, which calls it from one thread in
  // message order; the AuthProvider interface is const, so the state is mutable.
  mutable std::unique_ptr<MemoryCcache> ccache_;   // declared before the credentials that use it
  mutable CredPtr credentials_;
  mutable NamePtr target_;                          // the initiator's peer principal
  mutable ContextPtr context_;
  mutable std::optional<std::vector<std::byte>> reply_token_;
  mutable std::vector<std::byte> sent_tokens_, received_tokens_;
  mutable std::string expected_principal_, authenticated_peer_;
  mutable bool established_ = false;
};

std::string shared_misuse() {
  return "Kerberos: internal error: main mode must use the provider from for_exchange(), which holds the GSS context";
}

}  // namespace

std::string computer_account_principal(std::string_view service_principal) {
  constexpr std::string_view kHost = "host/";
  constexpr std::size_t kNetbiosNameLength = 15;
  if (service_principal.substr(0, kHost.size()) != kHost) return {};
  const auto at = service_principal.rfind('@');
  if (at == std::string_view::npos || at <= kHost.size()) return {};
  const auto host = service_principal.substr(kHost.size(), at - kHost.size());
  std::string name(host.substr(0, host.find('.')));
  if (name.empty() || name.find('/') != std::string::npos) return {};
  if (name.size() > kNetbiosNameLength) name.resize(kNetbiosNameLength);
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name + "$" + std::string(service_principal.substr(at));
}

SecureBytes skeyid_gss(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) {
  std::vector<std::byte> key(ni_b.begin(), ni_b.end());
  key.insert(key.end(), nr_b.begin(), nr_b.end());
  return crypto::prf(hash, key, {g_xy.reveal()});
}

std::unique_ptr<AuthProvider> KerberosProvider::for_exchange(Role /*self*/, const IpAddress& peer) const {
  return std::make_unique<KerberosExchange>(config_, keytab_name_, tickets_, peer);
}

SecureBytes KerberosProvider::skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const {
  return skeyid_gss(hash, ni_b, nr_b, g_xy);
}

Expected<std::vector<Payload>, std::string> KerberosProvider::build_key_exchange_payloads(Role /*self*/) const {
  return unexpected(shared_misuse());
}

Expected<std::vector<Payload>, std::string> KerberosProvider::build_authentication(Role /*self*/,
                                                                                 const MainModeTranscript& /*t*/,
                                                                                 Bytes /*own_id_b*/) const {
  return unexpected(shared_misuse());
}

Expected<void, IkeError> KerberosProvider::check_authentication(Role /*peer*/, const MainModeTranscript& /*t*/,
                                                                Bytes /*peer_id_b*/,
                                                                const ParsedMessage& /*message*/) const {
  return unexpected(silent(shared_misuse()));
}

}  // namespace ward::ike::auth
