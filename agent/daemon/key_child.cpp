#include "agent/daemon/key_child.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>

#include "agent/daemon/key_gss.h"
#include "agent/daemon/key_wire.h"
#include "agent/daemon/private_krb5_config.h"
#include "agent/daemon/secret_file.h"
#include "agent/privsep/child_main.h"
#include "agent/privsep/endpoint.h"
#include "ike/auth/certificate_provider.h"
#include "ike/auth/preshared_key.h"

namespace ward::agent::daemon {
namespace {

using namespace keyproc;
using privsep::Body;
using privsep::Incoming;

class KeyChild {
 public:
  Expected<Body, std::string> handle(Incoming& m) {
    switch (m.type) {
      case kPresharedKey: {
        auto note = ikeproc::decode<PresharedKeyNote>(m.body);
        if (!note) return unexpected(note.error());
        if (note->handle == 0) return unexpected(std::string("preshared key: handle 0"));
        preshared_[note->handle] = std::make_shared<const ike::auth::PresharedKeyProvider>(std::move(note->key));
        return Body{};
      }
      case kSkeyid: return skeyid(m.body);
      case kCertificateKeyFile:
        key_file_ = std::move(m.fd);
        return Body{};
      case kCertificateKey: return certificate_key(m.body);
      case kSign: return sign(m.body);
      case kKeytabFile:
        gss_.keytab_file(std::move(m.fd));
        return Body{};
      case kKeytab: return gss_.load_keytab(m.body);
      case kGssAccept: return gss_.accept(m.body);
      case kGssWrap: return gss_.wrap(m.body);
      case kGssUnwrap: return gss_.unwrap(m.body);
      case kGssEnd: return gss_.end(m.body);
      default: return unexpected("the key process has no message " + std::to_string(m.type));
    }
  }

 private:
  Expected<Body, std::string> skeyid(std::span<const std::uint8_t> body) {
    auto request = ikeproc::decode<ikeproc::SkeyidRequest>(body);
    if (!request) return unexpected(request.error());
    if (!skeyid_hash_supported(request->hash)) {
      return unexpected("SKEYID: hash " + std::to_string(static_cast<unsigned>(request->hash)) + " is not supported");
    }
    const auto found = preshared_.find(request->handle);
    if (found == preshared_.end()) return unexpected("SKEYID: no key has handle " + std::to_string(request->handle));
    const auto skeyid = found->second->skeyid(request->hash, request->ni_b, request->nr_b, {});
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(skeyid.reveal().data());
    return Body(bytes, bytes + skeyid.size());
  }

  Expected<Body, std::string> certificate_key(std::span<const std::uint8_t> body) {
    auto request = ikeproc::decode<CertificateKeyRequest>(body);
    if (!request) return unexpected(request.error());
    const privsep::OwnedFd file = std::move(key_file_);   // read once, closed here
    if (!file) return unexpected(request->key_name + ": no descriptor came with it");
    SecretText text;
    if (auto read = read_secret_file(file.get(), request->key_name, kMaxKeyFileBytes, text); !read) return unexpected(read.error());
    auto key = ike::auth::CertificateKey::from_pem(request->certificate_pem, text.text, request->key_name);
    if (!key) return unexpected(key.error());
    std::erase_if(keys_, [&](const auto& kept) { return kept.first == request->generation; });
    keys_.emplace_back(request->generation, std::move(*key));
    while (keys_.size() > kKeptCertificateKeys) keys_.pop_front();
    return Body{};
  }

  Expected<Body, std::string> sign(std::span<const std::uint8_t> body) {
    auto request = ikeproc::decode<ikeproc::SignRequest>(body);
    if (!request) return unexpected(request.error());
    if (!main_mode_hash_size(request->hash.size())) {
      return unexpected("sign: a " + std::to_string(request->hash.size()) + "-byte hash is no main mode hash");
    }
    for (const auto& [generation, key] : keys_) {
      if (generation != request->handle) continue;
      auto signature = key->sign(request->hash);
      if (!signature) return unexpected("sign: " + signature.error());
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(signature->data());
      return Body(bytes, bytes + signature->size());
    }
    return unexpected("sign: no certificate key has generation " + std::to_string(request->handle));
  }

  std::map<std::uint32_t, std::shared_ptr<const ike::auth::PresharedKeyProvider>> preshared_;
  privsep::OwnedFd key_file_;
  KeyGss gss_;   // the host keytab and the acceptor's contexts
  std::deque<std::pair<std::uint32_t, std::unique_ptr<const ike::auth::CertificateKey>>> keys_;
};

}  // namespace

int run_key_child(const std::string& user) {
  return privsep::run_child(user, privsep::NetworkSockets::Inherited, kReady, [] {
    auto state = std::make_shared<KeyChild>();
    // On the endpoint's one reader thread: calls are answered one at a time.
    return privsep::Endpoint::Handler([state](Incoming& m) { return state->handle(m); });
  }, keep_private_krb5_config);   // libkrb5 (the keytab, the acceptor) reads it
}

}  // namespace ward::agent::daemon
