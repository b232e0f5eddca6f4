#include "driver/xfrm/xfrm_sad.h"

#include <arpa/inet.h>

#include <cerrno>
#include <array>
#include <cstring>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include <openssl/crypto.h>

#include "driver/xfrm/xfrm_address.h"

namespace ward::driver::xfrm {

namespace {

constexpr std::uint16_t kUdpEncapEspInUdp = 2;  // UDP_ENCAP_ESPINUDP, RFC 3948

// xfrm_algo* structs end in a flexible key array: build them in a wiped scratch buffer.
class AlgorithmAttribute {
 public:
  AlgorithmAttribute(std::size_t header, std::size_t key_bytes) : bytes_(header + key_bytes) {}
  ~AlgorithmAttribute() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(bytes_.data());
  }
  std::size_t size() const { return bytes_.size(); }
  const void* data() const { return bytes_.data(); }

 private:
  std::vector<unsigned char> bytes_;
};

std::uint64_t limit_or_infinite(std::uint64_t limit) { return limit == 0 ? XFRM_INF : limit; }

void put_name(char (&field)[64], const std::string& name) { std::strncpy(field, name.c_str(), sizeof field - 1); }

}  // namespace

KernelSaKeys::~KernelSaKeys() {
  for (auto* key : {&aead_key, &cipher_key, &integrity_key}) {
    if (!key->empty()) OPENSSL_cleanse(key->data(), key->size());
  }
}

Expected<void, int> add_sa(XfrmSocket& socket, const KernelSa& sa) {
  nlmsghdr* message = sa.update ? socket.new_message(XFRM_MSG_UPDSA) : socket.new_message(XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL);
  auto* info = static_cast<xfrm_usersa_info*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_usersa_info)));
  const std::uint16_t family = sa.source.family() == IpFamily::V4 ? AF_INET : AF_INET6;
  put_address(info->saddr, sa.source);
  put_address(info->id.daddr, sa.destination);
  info->id.spi = htonl(sa.spi);
  info->id.proto = sa.protocol;
  info->family = family;
  info->sel.family = family;
  info->mode = sa.tunnel ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
  info->reqid = sa.reqid;
  info->replay_window = sa.replay_window;
  // RFC 4302 3.3.3.2.1: IPv4 AH pads its ICV to 32 bits. Linux's ah4 pads to 64 bits unless told
  // (a 16-byte HMAC-SHA-256-128 ICV then gets 4 bytes more than strongSwan, Windows and Ward's
  // userspace AH send and expect, and every packet fails their check); ah6 pads to 64, as required.
  if (sa.protocol == kAhProtocol && family == AF_INET) info->flags |= XFRM_STATE_ALIGN4;
  info->lft.soft_byte_limit = limit_or_infinite(sa.soft_bytes);
  info->lft.hard_byte_limit = limit_or_infinite(sa.hard_bytes);
  info->lft.soft_packet_limit = info->lft.hard_packet_limit = XFRM_INF;
  info->lft.soft_add_expires_seconds = sa.soft_seconds;
  info->lft.hard_add_expires_seconds = sa.hard_seconds;
  if (sa.encap_source_port != 0 || sa.encap_destination_port != 0) {
    xfrm_encap_tmpl encap{};
    encap.encap_type = kUdpEncapEspInUdp;
    encap.encap_sport = htons(sa.encap_source_port);
    encap.encap_dport = htons(sa.encap_destination_port);
    mnl_attr_put(message, XFRMA_ENCAP, sizeof encap, &encap);
  }

  const auto& keys = sa.keys;
  if (sa.protocol == kAhProtocol) {
    AlgorithmAttribute auth(sizeof(xfrm_algo_auth), keys.integrity_key.size());
    put_name(auth.as<xfrm_algo_auth>()->alg_name, keys.integrity);
    auth.as<xfrm_algo_auth>()->alg_key_len = static_cast<unsigned>(keys.integrity_key.size() * 8);
    auth.as<xfrm_algo_auth>()->alg_trunc_len = keys.icv_bits;
    std::memcpy(auth.as<xfrm_algo_auth>()->alg_key, keys.integrity_key.data(), keys.integrity_key.size());
    mnl_attr_put(message, XFRMA_ALG_AUTH_TRUNC, auth.size(), auth.data());
  } else if (!keys.aead.empty()) {
    AlgorithmAttribute aead(sizeof(xfrm_algo_aead), keys.aead_key.size());
    put_name(aead.as<xfrm_algo_aead>()->alg_name, keys.aead);
    aead.as<xfrm_algo_aead>()->alg_key_len = static_cast<unsigned>(keys.aead_key.size() * 8);
    aead.as<xfrm_algo_aead>()->alg_icv_len = keys.icv_bits;
    std::memcpy(aead.as<xfrm_algo_aead>()->alg_key, keys.aead_key.data(), keys.aead_key.size());
    mnl_attr_put(message, XFRMA_ALG_AEAD, aead.size(), aead.data());
  } else {
    AlgorithmAttribute cipher(sizeof(xfrm_algo), keys.cipher_key.size());
    put_name(cipher.as<xfrm_algo>()->alg_name, keys.cipher);
    cipher.as<xfrm_algo>()->alg_key_len = static_cast<unsigned>(keys.cipher_key.size() * 8);
    std::memcpy(cipher.as<xfrm_algo>()->alg_key, keys.cipher_key.data(), keys.cipher_key.size());
    mnl_attr_put(message, XFRMA_ALG_CRYPT, cipher.size(), cipher.data());
    AlgorithmAttribute auth(sizeof(xfrm_algo_auth), keys.integrity_key.size());
    put_name(auth.as<xfrm_algo_auth>()->alg_name, keys.integrity);
    auth.as<xfrm_algo_auth>()->alg_key_len = static_cast<unsigned>(keys.integrity_key.size() * 8);
    auth.as<xfrm_algo_auth>()->alg_trunc_len = keys.icv_bits;
    std::memcpy(auth.as<xfrm_algo_auth>()->alg_key, keys.integrity_key.data(), keys.integrity_key.size());
    mnl_attr_put(message, XFRMA_ALG_AUTH_TRUNC, auth.size(), auth.data());
  }
  auto done = socket.request(message);
  // The request buffer held the keys: wipe it whatever happened.
  OPENSSL_cleanse(message, message->nlmsg_len);
  return done;
}

Expected<std::uint32_t, int> allocate_spi(XfrmSocket& socket, const IpAddress& source, const IpAddress& destination, std::uint8_t protocol,
                                          std::uint32_t reqid, std::uint32_t min, std::uint32_t max) {
  nlmsghdr* message = socket.new_message(XFRM_MSG_ALLOCSPI);
  auto* request = static_cast<xfrm_userspi_info*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_userspi_info)));
  const std::uint16_t family = destination.family() == IpFamily::V4 ? AF_INET : AF_INET6;
  put_address(request->info.saddr, source);
  put_address(request->info.id.daddr, destination);
  request->info.id.proto = protocol;
  request->info.family = family;
  request->info.sel.family = family;
  request->info.mode = XFRM_MODE_TRANSPORT;
  request->info.reqid = reqid;
  request->min = min;
  request->max = max;
  std::uint32_t spi = 0;
  auto done = socket.request(message, [&](const nlmsghdr* reply) {
    if (reply->nlmsg_type != XFRM_MSG_NEWSA || mnl_nlmsg_get_payload_len(reply) < sizeof(xfrm_usersa_info)) return;
    spi = ntohl(static_cast<const xfrm_usersa_info*>(mnl_nlmsg_get_payload(reply))->id.spi);
  });
  if (!done) return unexpected(done.error());
  if (spi == 0) return unexpected(EPROTO);
  return spi;
}

Expected<void, int> delete_sa(XfrmSocket& socket, const IpAddress& destination, std::uint32_t spi, std::uint8_t protocol) {
  nlmsghdr* message = socket.new_message(XFRM_MSG_DELSA);
  auto* id = static_cast<xfrm_usersa_id*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_usersa_id)));
  put_address(id->daddr, destination);
  id->spi = htonl(spi);
  id->family = destination.family() == IpFamily::V4 ? AF_INET : AF_INET6;
  id->proto = protocol;
  return socket.request(message);
}

std::optional<KernelExpire> parse_expire(const nlmsghdr* message) {
  if (message->nlmsg_type != XFRM_MSG_EXPIRE) return std::nullopt;
  if (mnl_nlmsg_get_payload_len(message) < sizeof(xfrm_user_expire)) return std::nullopt;
  xfrm_user_expire expire{};
  std::memcpy(&expire, mnl_nlmsg_get_payload(message), sizeof expire);
  return KernelExpire{address_from(expire.state.id.daddr, expire.state.family), expire.state.id.proto, ntohl(expire.state.id.spi),
                      expire.hard != 0};
}

Expected<std::vector<KernelSaStats>, int> dump_sa_stats(XfrmSocket& socket) {
  std::vector<KernelSaStats> found;
  nlmsghdr* message = socket.new_message(XFRM_MSG_GETSA);
  auto dumped = socket.dump(message, [&](const nlmsghdr* reply) {
    if (reply->nlmsg_type != XFRM_MSG_NEWSA || mnl_nlmsg_get_payload_len(reply) < sizeof(xfrm_usersa_info)) return;
    xfrm_usersa_info info{};
    std::memcpy(&info, mnl_nlmsg_get_payload(reply), sizeof info);
    found.push_back({address_from(info.id.daddr, info.family), info.id.proto, ntohl(info.id.spi), info.curlft.packets, info.curlft.bytes,
                     std::uint64_t{info.stats.replay} + info.stats.integrity_failed});
  });
  if (!dumped) return unexpected(dumped.error());
  return found;
}

bool kernel_lacks_esp(int error) noexcept { return error == ENOENT || error == EPROTONOSUPPORT || error == ENOSYS; }

}  // namespace ward::driver::xfrm
