#include "driver/xfrm/xfrm_sad.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include <openssl/crypto.h>

namespace ward::driver::xfrm {

namespace {

constexpr std::uint8_t kEspProtocol = 50;

void put_address(xfrm_address_t& out, const IpAddress& address) {
  std::memcpy(&out, address.bytes().data(), address.family() == IpFamily::V4 ? 4 : 16);
}

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

void put_name(char (&field)[64], const std::string& name) { std::strncpy(field, name.c_str(), sizeof field - 1); }

}  // namespace

KernelSaKeys::~KernelSaKeys() {
  for (auto* key : {&aead_key, &cipher_key, &integrity_key}) {
    if (!key->empty()) OPENSSL_cleanse(key->data(), key->size());
  }
}

Expected<void, int> add_sa(XfrmSocket& socket, const KernelSa& sa) {
  nlmsghdr* message = socket.new_message(XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL);
  auto* info = static_cast<xfrm_usersa_info*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_usersa_info)));
  const std::uint16_t family = sa.source.family() == IpFamily::V4 ? AF_INET : AF_INET6;
  put_address(info->saddr, sa.source);
  put_address(info->id.daddr, sa.destination);
  info->id.spi = htonl(sa.spi);
  info->id.proto = kEspProtocol;
  info->family = family;
  info->sel.family = family;
  info->mode = sa.tunnel ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
  info->reqid = sa.reqid;
  info->replay_window = sa.replay_window;
  info->lft.soft_byte_limit = info->lft.hard_byte_limit = XFRM_INF;
  info->lft.soft_packet_limit = info->lft.hard_packet_limit = XFRM_INF;

  const auto& keys = sa.keys;
  if (!keys.aead.empty()) {
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

Expected<void, int> delete_sa(XfrmSocket& socket, const IpAddress& destination, std::uint32_t spi) {
  nlmsghdr* message = socket.new_message(XFRM_MSG_DELSA);
  auto* id = static_cast<xfrm_usersa_id*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_usersa_id)));
  put_address(id->daddr, destination);
  id->spi = htonl(spi);
  id->family = destination.family() == IpFamily::V4 ? AF_INET : AF_INET6;
  id->proto = kEspProtocol;
  return socket.request(message);
}

bool kernel_lacks_esp(int error) noexcept { return error == ENOENT || error == EPROTONOSUPPORT || error == ENOSYS; }

}  // namespace ward::driver::xfrm
