#include "agent/daemon/key_gss.h"

#include <openssl/crypto.h>
#include <profile.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "agent/daemon/secret_file.h"
#include "agent/ikeproc/gss_service.h"
#include "agent/ikeproc/wire_gss.h"
#include "ike/auth/kerberos_provider.h"

namespace ward::agent::daemon {

using namespace keyproc;
using ike::auth::Role;
using privsep::Body;

namespace {

std::string krb5_message(krb5_context context, krb5_error_code code) {
  const char* text = krb5_get_error_message(context, code);
  std::string out = text != nullptr ? text : "error " + std::to_string(code);
  krb5_free_error_message(context, text);
  return out;
}

// Writes all of `text` to `fd`.
bool write_all(int fd, const std::string& text) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto n = ::write(fd, text.data() + at, text.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

// The keytab's bytes in a memfd that libkrb5 reads as a FILE: keytab; overwritten with zeros before
// it is closed (its pages are this process's only: no other process has the descriptor).
class KeytabMemfd {
 public:
  explicit KeytabMemfd(int fd) : fd_(fd) {}
  ~KeytabMemfd() {
    if (fd_ < 0) return;
    const std::string zeros(size_, '\0');
    if (::lseek(fd_, 0, SEEK_SET) == 0) (void)write_all(fd_, zeros);
    ::close(fd_);
  }
  KeytabMemfd(const KeytabMemfd&) = delete;
  KeytabMemfd& operator=(const KeytabMemfd&) = delete;
  int fd() const { return fd_; }
  void wrote(std::size_t size) { size_ = size; }

 private:
  int fd_;
  std::size_t size_ = 0;
};

// The KDC send hook of the key process's krb5 contexts: every KDC message goes to wardd, whose
// answer is the reply (libkrb5 then sends nothing itself).
krb5_error_code relay_to_wardd(krb5_context context, void* data, const krb5_data* realm, const krb5_data* message,
                               krb5_data** /*new_message_out*/, krb5_data** new_reply_out) {
  const auto& send = *static_cast<const KeyGss::KdcSend*>(data);
  if (!send) {
    krb5_set_error_message(context, KRB5_KDC_UNREACH, "the key process has no way to the KDC");
    return KRB5_KDC_UNREACH;
  }
  const auto reply = send(std::string(realm->data, realm->length),
                          std::as_bytes(std::span(reinterpret_cast<const unsigned char*>(message->data), message->length)));
  if (!reply) {
    krb5_set_error_message(context, KRB5_KDC_UNREACH, "wardd sent the KDC message on and got no reply: %s", reply.error().c_str());
    return KRB5_KDC_UNREACH;
  }
  krb5_data copy{};
  copy.magic = KV5M_DATA;
  copy.length = static_cast<unsigned int>(reply->size());
  copy.data = const_cast<char*>(reinterpret_cast<const char*>(reply->data()));
  return krb5_copy_data(context, &copy, new_reply_out);
}

std::string realm_of(const std::string& principal) {
  const auto at = principal.rfind('@');
  return at == std::string::npos ? std::string() : principal.substr(at + 1);
}

// libkrb5 (1.20) looks a realm's KDCs up before it calls the send hook, and would ask DNS (SRV
// records, as an AD member's krb5.conf often says), which the key process cannot: a context whose
// configuration adds (in a memfd, `config_fd`, open while the context lives) a placeholder KDC for
// each of `realms`, an address the hook answers for before anything is sent there (the messages go
// to wardd, which finds the real KDCs).
krb5_error_code context_for_relay(krb5_context& out, int& config_fd, const std::vector<std::string>& realms) {
  std::string extra = "[realms]\n";
  for (const auto& realm : realms) {
    if (!realm.empty()) extra += " " + realm + " = {\n  kdc = 127.0.0.1\n }\n";
  }
  config_fd = ::memfd_create("ward-krb5-relay.conf", MFD_CLOEXEC);
  if (config_fd < 0 || !write_all(config_fd, extra)) return errno != 0 ? errno : EIO;
  const char* set = std::getenv("KRB5_CONFIG");
  const std::string path = std::string(set != nullptr ? set : "/etc/krb5.conf") + ":/proc/self/fd/" + std::to_string(config_fd);
  profile_t profile = nullptr;
  auto code = static_cast<krb5_error_code>(profile_init_path(path.c_str(), &profile));
  if (code != 0) return code;
  code = krb5_init_context_profile(profile, 0, &out);
  profile_release(profile);
  return code;
}

// What get_tickets holds, freed however it ends.
struct TicketSession {
  krb5_context context = nullptr;
  krb5_principal client = nullptr, server = nullptr;
  krb5_keytab keytab = nullptr;
  krb5_ccache ccache = nullptr;
  krb5_get_init_creds_opt* options = nullptr;
  krb5_creds tgt{};
  krb5_creds* ticket = nullptr;
  int config_fd = -1;   // the placeholder KDCs (context_for_relay)
  TicketSession() = default;
  TicketSession(const TicketSession&) = delete;
  TicketSession& operator=(const TicketSession&) = delete;
  ~TicketSession() {
    if (config_fd >= 0) ::close(config_fd);
    if (context == nullptr) return;
    if (ticket != nullptr) krb5_free_creds(context, ticket);
    krb5_free_cred_contents(context, &tgt);
    if (options != nullptr) krb5_get_init_creds_opt_free(context, options);
    if (ccache != nullptr) krb5_cc_close(context, ccache);
    if (keytab != nullptr) krb5_kt_close(context, keytab);
    if (server != nullptr) krb5_free_principal(context, server);
    if (client != nullptr) krb5_free_principal(context, client);
    krb5_free_context(context);
  }
};

// A TGT for `client` from `keytab` and a service ticket for `server` (none when empty), stored in
// `ccache`, every KDC message through `send`.
Expected<void, std::string> get_tickets(const KeyGss::KdcSend& send, const std::string& keytab, const std::string& ccache,
                                        const std::string& client, const std::string& server) {
  TicketSession s;
  if (const auto code = context_for_relay(s.context, s.config_fd, {realm_of(client), realm_of(server)}); code != 0) {
    s.context = nullptr;
    return unexpected("cannot start libkrb5 (error " + std::to_string(code) + ")");
  }
  krb5_set_kdc_send_hook(s.context, relay_to_wardd, const_cast<KeyGss::KdcSend*>(&send));
  const auto failed = [&](const std::string& what, krb5_error_code code) -> Expected<void, std::string> {
    return unexpected(what + ": " + krb5_message(s.context, code));
  };
  if (const auto code = krb5_parse_name(s.context, client.c_str(), &s.client); code != 0) {
    return failed("'" + client + "' is not a Kerberos principal name", code);
  }
  if (const auto code = server.empty() ? 0 : krb5_parse_name(s.context, server.c_str(), &s.server); code != 0) {
    return failed("'" + server + "' is not a Kerberos principal name", code);
  }
  if (const auto code = krb5_kt_resolve(s.context, keytab.c_str(), &s.keytab); code != 0) return failed("the keytab", code);
  if (const auto code = krb5_cc_resolve(s.context, ccache.c_str(), &s.ccache); code != 0) return failed("the exchange's ccache", code);
  if (const auto code = krb5_get_init_creds_opt_alloc(s.context, &s.options); code != 0) return failed("libkrb5", code);
  if (const auto code = krb5_get_init_creds_keytab(s.context, &s.tgt, s.client, s.keytab, 0, nullptr, s.options); code != 0) {
    return failed("no ticket-granting ticket for " + client, code);
  }
  if (const auto code = krb5_cc_initialize(s.context, s.ccache, s.client); code != 0) return failed("the exchange's ccache", code);
  if (const auto code = krb5_cc_store_cred(s.context, s.ccache, &s.tgt); code != 0) return failed("the exchange's ccache", code);
  if (server.empty()) return {};   // the TGT only
  krb5_creds wanted{};
  wanted.client = s.client;
  wanted.server = s.server;
  if (const auto code = krb5_get_credentials(s.context, 0, s.ccache, &wanted, &s.ticket); code != 0) {
    return failed("no ticket for " + server, code);
  }
  return {};
}

ike::auth::MainModeTranscript transcript_of(const ikeproc::RemoteTranscript& t) {
  return {t.hash, &t.skeyid, t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b};
}

}  // namespace

// libkrb5 keeps a MEMORY keytab for the process's life (1.20 has no krb5_kt_destroy): its entries
// are removed first (krb5_kt_remove_entry frees each, zeroing the key).
KeyGss::Keytab::~Keytab() {
  if (keytab != nullptr) {
    for (;;) {
      krb5_kt_cursor cursor{};
      krb5_keytab_entry entry{};
      if (krb5_kt_start_seq_get(context, keytab, &cursor) != 0) break;
      const bool got = krb5_kt_next_entry(context, keytab, &entry, &cursor) == 0;
      krb5_kt_end_seq_get(context, keytab, &cursor);
      if (!got) break;
      const auto removed = krb5_kt_remove_entry(context, keytab, &entry);
      krb5_free_keytab_entry_contents(context, &entry);
      if (removed != 0) break;
    }
    krb5_kt_close(context, keytab);
  }
  if (context != nullptr) krb5_free_context(context);
}

KeyGss::~KeyGss() {
  exchanges_.clear();   // their credentials hold the keytabs: dropped first
  keytabs_.clear();
}

Expected<Body, std::string> KeyGss::load_keytab(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<KeytabRequest>(body);
  if (!request) return unexpected(request.error());
  const privsep::OwnedFd file = std::move(file_);   // read once, closed here
  const std::string named = "keytab " + request->path;
  if (!file) return unexpected(named + ": no descriptor came with it");
  SecretText text;
  if (auto read = read_secret_file(file.get(), named, kMaxKeytabBytes, text); !read) return unexpected(read.error());
  if (text.text.empty()) return unexpected(named + " is empty");

  const int raw_memfd = ::memfd_create("ward-keytab", MFD_CLOEXEC);
  if (raw_memfd < 0) return unexpected(named + ": no memory file to read it from: " + std::strerror(errno));
  KeytabMemfd memfd(raw_memfd);
  if (!write_all(memfd.fd(), text.text)) return unexpected(named + ": cannot copy it to a memory file: " + std::strerror(errno));
  memfd.wrote(text.text.size());

  auto kept = std::make_unique<Keytab>();
  kept->request = *request;
  kept->name = "MEMORY:ward-keytab-" + std::to_string(request->generation);
  if (const auto code = krb5_init_context(&kept->context); code != 0) {
    kept->context = nullptr;
    return unexpected(named + ": cannot start libkrb5 (error " + std::to_string(code) + ")");
  }
  krb5_context context = kept->context;
  if (const auto code = krb5_kt_resolve(context, kept->name.c_str(), &kept->keytab); code != 0) {
    return unexpected(named + ": no memory keytab: " + krb5_message(context, code));
  }
  krb5_kt_cursor cursor{};
  krb5_keytab_entry entry{};
  const std::string file_name = "FILE:/proc/self/fd/" + std::to_string(memfd.fd());
  krb5_keytab source = nullptr;
  if (const auto code = krb5_kt_resolve(context, file_name.c_str(), &source); code != 0) {
    return unexpected(named + " cannot be opened by libkrb5: " + krb5_message(context, code));
  }
  std::size_t entries = 0;
  krb5_error_code code = krb5_kt_start_seq_get(context, source, &cursor);
  if (code == 0) {
    while ((code = krb5_kt_next_entry(context, source, &entry, &cursor)) == 0) {
      const auto added = krb5_kt_add_entry(context, kept->keytab, &entry);
      krb5_free_keytab_entry_contents(context, &entry);
      if (added != 0) {
        code = added;
        break;
      }
      ++entries;
    }
    krb5_kt_end_seq_get(context, source, &cursor);
  }
  krb5_kt_close(context, source);
  if (code != KRB5_KT_END) return unexpected(named + " is not a keytab libkrb5 can read: " + krb5_message(context, code));
  if (entries == 0) return unexpected(named + " holds no key");

  krb5_principal own = nullptr;
  if (const auto parsed = krb5_parse_name(context, request->own_principal.c_str(), &own); parsed != 0) {
    return unexpected("'" + request->own_principal + "' is not a Kerberos principal name: " + krb5_message(context, parsed));
  }
  const auto found = krb5_kt_get_entry(context, kept->keytab, own, 0, 0, &entry);
  krb5_free_principal(context, own);
  if (found != 0) return unexpected(named + " has no key for " + request->own_principal + ": " + krb5_message(context, found));
  krb5_free_keytab_entry_contents(context, &entry);

  std::erase_if(keytabs_, [&](const auto& k) { return k->request.generation == request->generation; });
  keytabs_.push_back(std::move(kept));
  while (keytabs_.size() > kKeptKeytabs) keytabs_.pop_front();
  return Body{};
}

const KeyGss::Keytab* KeyGss::keytab(std::uint32_t generation) const {
  for (const auto& k : keytabs_) {
    if (k->request.generation == generation) return k.get();
  }
  return nullptr;
}

Expected<Body, std::string> KeyGss::init(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<GssInitRequest>(body);
  if (!request) return unexpected(request.error());
  const Keytab* kept = keytab(request->keytab);
  if (kept == nullptr) return unexpected("Kerberos: the key process holds no keytab " + std::to_string(request->keytab));
  if (exchanges_.size() >= ikeproc::kMaxGssExchanges) {
    return unexpected("Kerberos: " + std::to_string(exchanges_.size()) + " exchanges are open already");
  }
  if (request->target_principal.empty()) return unexpected(std::string("Kerberos: no principal to ask a ticket for"));
  ike::auth::KerberosConfig config;
  config.keytab = kept->request.path;
  config.own_principal = kept->request.own_principal;
  config.acceptor_principal = kept->request.acceptor_principal;
  config.peer_principal = [target = request->target_principal](const IpAddress&) -> Expected<std::string, std::string> { return target; };
  auto tickets = [this, name = kept->name](const std::string& ccache, const std::string& client, const std::string& server) {
    return get_tickets(send_, name, ccache, client, server);
  };
  auto exchange = ike::auth::KerberosProvider(std::move(config), kept->name, std::move(tickets)).for_exchange(Role::Initiator, request->peer);
  auto payloads = exchange->build_key_exchange_payloads(Role::Initiator);
  if (!payloads) return unexpected(std::move(payloads.error()));
  const auto id = next_++;
  ikeproc::GssTokens out{id, Role::Initiator, {}};
  for (auto& p : *payloads) {
    if (auto* token = std::get_if<ike::GssToken>(&p)) out.tokens.push_back(std::move(token->data));
  }
  exchanges_.emplace(id, std::move(exchange));
  return ikeproc::encode(out);
}

Expected<Body, std::string> KeyGss::tgt(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<TgtRequest>(body);
  if (!request) return unexpected(request.error());
  const Keytab* kept = keytab(request->keytab);
  if (kept == nullptr) return unexpected("the key process holds no keytab " + std::to_string(request->keytab));
  const std::string ccache = "MEMORY:ward-fetch-tgt-" + std::to_string(next_++);
  auto got = get_tickets(send_, kept->name, ccache, request->client, "");
  krb5_context context = nullptr;
  if (const auto code = krb5_init_context(&context); code != 0) return unexpected("cannot start libkrb5 (error " + std::to_string(code) + ")");
  krb5_ccache cc = nullptr;
  Expected<Body, std::string> answer = unexpected(got ? std::string() : got.error());
  if (got && krb5_cc_resolve(context, ccache.c_str(), &cc) == 0) {
    krb5_cc_cursor cursor = nullptr;
    krb5_creds creds{};
    krb5_data* marshalled = nullptr;
    answer = unexpected("the TGT for " + request->client + " is not in its ccache");
    if (krb5_cc_start_seq_get(context, cc, &cursor) == 0) {
      while (krb5_cc_next_cred(context, cc, &cursor, &creds) == 0) {
        const bool is_tgt = krb5_is_config_principal(context, creds.server) == 0 && creds.server->length == 2 &&
                            std::string_view(creds.server->data[0].data, creds.server->data[0].length) == "krbtgt";
        if (is_tgt && krb5_marshal_credentials(context, &creds, &marshalled) == 0) {
          TgtAnswer out;
          out.ticket = driver::crypto::SecureBytes(std::as_bytes(std::span(reinterpret_cast<const unsigned char*>(marshalled->data), marshalled->length)));
          out.end = static_cast<std::uint64_t>(static_cast<std::uint32_t>(creds.times.endtime));   // krb5_timestamp wraps after 2038
          answer = ikeproc::encode(out);
          OPENSSL_cleanse(marshalled->data, marshalled->length);   // krb5_free_data zeroes nothing
          krb5_free_data(context, marshalled);
          marshalled = nullptr;
        }
        krb5_free_cred_contents(context, &creds);
        if (answer) break;
      }
      krb5_cc_end_seq_get(context, cc, &cursor);
    }
  }
  if (cc != nullptr) krb5_cc_destroy(context, cc);   // the TGT leaves this process only as the answer
  krb5_free_context(context);
  return answer;
}

Expected<Body, std::string> KeyGss::finish(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<ikeproc::GssTokens>(body);
  if (!request) return unexpected(request.error());
  const auto found = exchanges_.find(request->exchange);
  if (found == exchanges_.end()) return unexpected("Kerberos: the key process has no exchange " + std::to_string(request->exchange));
  ike::ParsedMessage message;
  for (auto& token : request->tokens) message.payloads.push_back(ike::GssToken{std::move(token)});
  if (auto consumed = found->second->consume_key_exchange_payloads(Role::Responder, message); !consumed) {
    return unexpected(std::move(consumed.error()));
  }
  return Body{};
}

Expected<Body, std::string> KeyGss::accept(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<GssAcceptRequest>(body);
  if (!request) return unexpected(request.error());
  const Keytab* keytab = this->keytab(request->keytab);
  if (keytab == nullptr) return unexpected("Kerberos: the key process holds no keytab " + std::to_string(request->keytab));
  if (exchanges_.size() >= ikeproc::kMaxGssExchanges) {
    return unexpected("Kerberos: " + std::to_string(exchanges_.size()) + " acceptor exchanges are open already");
  }
  if (request->expected_principal.empty()) return unexpected(std::string("Kerberos: no principal expected of the peer"));
  ike::auth::KerberosConfig config;
  config.keytab = keytab->request.path;
  config.own_principal = keytab->request.own_principal;
  config.acceptor_principal = keytab->request.acceptor_principal;
  config.peer_principal = [expected = request->expected_principal](const IpAddress&) -> Expected<std::string, std::string> {
    return expected;
  };
  auto exchange = ike::auth::KerberosProvider(std::move(config), keytab->name).for_exchange(Role::Responder, request->peer);
  ike::ParsedMessage message;
  for (auto& token : request->tokens) message.payloads.push_back(ike::GssToken{std::move(token)});
  if (auto consumed = exchange->consume_key_exchange_payloads(Role::Initiator, message); !consumed) {
    return unexpected(std::move(consumed.error()));
  }
  auto payloads = exchange->build_key_exchange_payloads(Role::Responder);
  if (!payloads) return unexpected(std::move(payloads.error()));
  const auto id = next_++;
  ikeproc::GssTokens out{id, Role::Responder, {}};
  for (auto& p : *payloads) {
    if (auto* token = std::get_if<ike::GssToken>(&p)) out.tokens.push_back(std::move(token->data));
  }
  exchanges_.emplace(id, std::move(exchange));
  return ikeproc::encode(out);
}

Expected<Body, std::string> KeyGss::wrap(std::span<const std::uint8_t> body) { return authenticate(body, false); }
Expected<Body, std::string> KeyGss::unwrap(std::span<const std::uint8_t> body) { return authenticate(body, true); }

Expected<Body, std::string> KeyGss::authenticate(std::span<const std::uint8_t> body, bool check) {
  auto request = ikeproc::decode<ikeproc::GssAuthenticate>(body);
  if (!request) return unexpected(request.error());
  const auto found = exchanges_.find(request->exchange);
  if (found == exchanges_.end()) return unexpected("Kerberos: the key process has no exchange " + std::to_string(request->exchange));
  const auto& provider = *found->second;
  const auto transcript = transcript_of(request->transcript);
  ikeproc::GssResult result;
  if (!check) {
    auto payloads = provider.build_authentication(request->role, transcript, request->id_b);
    if (!payloads) return unexpected(std::move(payloads.error()));
    for (auto& p : *payloads) {
      if (auto* hash = std::get_if<ike::Hash>(&p)) result.hash = std::move(hash->data);
    }
    if (result.hash.empty()) return unexpected(std::string("Kerberos: no HASH payload to send"));
    return ikeproc::encode(result);
  }
  ike::ParsedMessage message;
  message.payloads.push_back(ike::Hash{std::move(request->hash)});
  if (auto checked = provider.check_authentication(request->role, transcript, request->id_b, message); !checked) {
    return unexpected(std::move(checked.error().text));
  }
  result.principal = provider.peer_identity();
  return ikeproc::encode(result);
}

Expected<Body, std::string> KeyGss::end(std::span<const std::uint8_t> body) {
  auto exchange = ikeproc::decode<ikeproc::GssExchange>(body);
  if (!exchange) return unexpected(exchange.error());
  exchanges_.erase(exchange->exchange);
  return Body{};
}

}  // namespace ward::agent::daemon
