#include "agent/daemon/kdc_relay.h"

#include <krb5/krb5.h>

#include <optional>

namespace ward::agent::daemon {
namespace {

// An error code of our own: the post-receive hook ends wardd's AS exchange with it once it holds
// the reply (any code libkrb5 never returns itself would do).
constexpr krb5_error_code kReplyKept = KRB5_PLUGIN_NO_HANDLE;

struct Relay {
  krb5_data message{};
  std::optional<std::vector<std::byte>> reply;
};

krb5_error_code substitute(krb5_context context, void* data, const krb5_data* /*realm*/, const krb5_data* /*message*/,
                           krb5_data** new_message_out, krb5_data** /*new_reply_out*/) {
  return krb5_copy_data(context, &static_cast<Relay*>(data)->message, new_message_out);
}

// Whether `reply` is a KRB-ERROR saying the reply would not fit UDP.
bool too_big_for_udp(krb5_context context, const krb5_data* reply) {
  krb5_error* error = nullptr;
  if (krb5_rd_error(context, reply, &error) != 0) return false;
  const bool too_big = error->error == KRB5KRB_ERR_RESPONSE_TOO_BIG - ERROR_TABLE_BASE_krb5;
  krb5_free_error(context, error);
  return too_big;
}

krb5_error_code keep(krb5_context context, void* data, krb5_error_code code, const krb5_data* /*realm*/, const krb5_data* /*message*/,
                     const krb5_data* reply, krb5_data** /*new_reply_out*/) {
  if (code != 0 || reply == nullptr) return code;
  if (too_big_for_udp(context, reply)) return 0;   // libkrb5 retries over TCP
  const auto* bytes = reinterpret_cast<const std::byte*>(reply->data);
  static_cast<Relay*>(data)->reply.emplace(bytes, bytes + reply->length);
  return kReplyKept;
}

std::string message_of(krb5_context context, krb5_error_code code) {
  const char* text = krb5_get_error_message(context, code);
  std::string out = text != nullptr ? text : "error " + std::to_string(code);
  krb5_free_error_message(context, text);
  return out;
}

}  // namespace

Expected<std::vector<std::byte>, std::string> send_to_kdc(const std::string& realm, std::span<const std::byte> message) {
  if (realm.empty()) return unexpected(std::string("a KDC message for no realm"));
  krb5_context context = nullptr;
  if (const auto code = krb5_init_context(&context); code != 0) return unexpected("cannot start libkrb5 (error " + std::to_string(code) + ")");
  Relay relay;
  relay.message.magic = KV5M_DATA;
  relay.message.length = static_cast<unsigned int>(message.size());
  relay.message.data = const_cast<char*>(reinterpret_cast<const char*>(message.data()));
  krb5_set_kdc_send_hook(context, substitute, &relay);
  krb5_set_kdc_recv_hook(context, keep, &relay);
  // Any client of the realm: its AS-REQ is never sent, the key process's message goes instead.
  krb5_principal client = nullptr;
  krb5_error_code code = krb5_build_principal(context, &client, static_cast<unsigned int>(realm.size()), realm.c_str(), "ward-kdc-relay",
                                              static_cast<const char*>(nullptr));
  std::string why;
  if (code == 0) {
    krb5_get_init_creds_opt* options = nullptr;
    code = krb5_get_init_creds_opt_alloc(context, &options);
    if (code == 0) {
      krb5_creds creds{};
      code = krb5_get_init_creds_password(context, &creds, client, "", nullptr, nullptr, 0, nullptr, options);
      if (code == 0) krb5_free_cred_contents(context, &creds);
      krb5_get_init_creds_opt_free(context, options);
    }
    krb5_free_principal(context, client);
  }
  if (!relay.reply) why = "the KDC of " + realm + " did not answer: " + message_of(context, code);
  krb5_free_context(context);
  if (!relay.reply) return unexpected(std::move(why));
  return std::move(*relay.reply);
}

}  // namespace ward::agent::daemon
