#include "agent/daemon/key_child.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/daemon/key_gss.h"
#include "agent/daemon/key_wire.h"
#include "agent/daemon/private_krb5_config.h"
#include "agent/daemon/secret_file.h"
#include "agent/privsep/child_main.h"
#include "agent/privsep/endpoint.h"
#include "ike/auth/certificate_provider.h"
#include "ike/auth/signature.h"
#include "ike/auth/preshared_key.h"

namespace ward::agent::daemon {
namespace {

using namespace keyproc;
using privsep::Body;
using privsep::Incoming;

bool is_kerberos(std::uint32_t type) {
  return type == kKeytabFile || type == kKeytab || type == kGssAccept || type == kGssWrap || type == kGssUnwrap || type == kGssEnd ||
         type == kGssInit || type == kGssFinish || type == kTgt;
}

// How long the key process waits for wardd to relay one KDC message: libkrb5 gives a KDC 1 s per
// try and tries each KDC of the realm, and wardd waits for a kGssInit at most kGssInitTimeout.
inline constexpr std::chrono::milliseconds kKdcRelayTimeout{4000};

// The Kerberos messages, in order, on a thread of their own: a kGssInit waits for the KDC through
// wardd (kKdcSend), whose answer the endpoint's reader must be free to take.
class KerberosWorker {
 public:
  KerberosWorker() {
    gss_.relay_through([this](const std::string& realm, std::span<const std::byte> message) { return kdc_send(realm, message); });
    thread_ = std::thread([this] { work(); });
  }
  ~KerberosWorker() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  KerberosWorker(const KerberosWorker&) = delete;
  KerberosWorker& operator=(const KerberosWorker&) = delete;

  void attach(privsep::Endpoint& endpoint) {
    {
      const std::lock_guard lock(mutex_);
      endpoint_ = &endpoint;
    }
    wake_.notify_all();
  }
  // Queues `m` (a call is answered when done).
  Expected<Body, std::string> queue(Incoming& m) {
    {
      const std::lock_guard lock(mutex_);
      queue_.push_back({m.type, Body(m.body.begin(), m.body.end()), std::move(m.fd), m.is_call, m.call_id});
    }
    if (m.is_call) m.reply_later = true;
    wake_.notify_all();
    return Body{};
  }

 private:
  struct Job {
    std::uint32_t type = 0;
    Body body;
    privsep::OwnedFd fd;
    bool is_call = false;
    std::uint64_t call_id = 0;
  };

  void work() {
    for (;;) {
      Job job;
      privsep::Endpoint* endpoint = nullptr;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || (endpoint_ != nullptr && !queue_.empty()); });
        if (stopping_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
        endpoint = endpoint_;
      }
      const auto answer = run(job);
      if (job.is_call) (void)endpoint->reply(job.call_id, answer);
    }
  }

  Expected<Body, std::string> run(Job& job) {
    switch (job.type) {
      case kKeytabFile:
        gss_.keytab_file(std::move(job.fd));
        return Body{};
      case kKeytab: return gss_.load_keytab(job.body);
      case kGssAccept: return gss_.accept(job.body);
      case kGssInit: return gss_.init(job.body);
      case kGssFinish: return gss_.finish(job.body);
      case kTgt: return gss_.tgt(job.body);
      case kGssWrap: return gss_.wrap(job.body);
      case kGssUnwrap: return gss_.unwrap(job.body);
      case kGssEnd: return gss_.end(job.body);
      default: return unexpected("the key process has no Kerberos message " + std::to_string(job.type));
    }
  }

  Expected<std::vector<std::byte>, std::string> kdc_send(const std::string& realm, std::span<const std::byte> message) {
    if (message.size() > kMaxKdcMessageBytes) return unexpected("a " + std::to_string(message.size()) + "-byte KDC message is too long");
    privsep::Endpoint* endpoint = nullptr;
    {
      const std::lock_guard lock(mutex_);
      endpoint = endpoint_;
    }
    const auto body = ikeproc::encode(KdcRequest{realm, {message.begin(), message.end()}});
    auto reply = endpoint->call(kKdcSend, body, kKdcRelayTimeout);
    if (!reply) return unexpected(std::move(reply.error()));
    const auto bytes = std::as_bytes(std::span(reply->data(), reply->size()));
    return std::vector<std::byte>(bytes.begin(), bytes.end());
  }

  KeyGss gss_;   // the host keytab and the GSS contexts: this thread's only
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  privsep::Endpoint* endpoint_ = nullptr;
  bool stopping_ = false;
  std::thread thread_;   // last: started once the rest is built
};

class KeyChild {
 public:
  void attach(privsep::Endpoint& endpoint) { kerberos_.attach(endpoint); }

  Expected<Body, std::string> handle(Incoming& m) {
    if (is_kerberos(m.type)) return kerberos_.queue(m);
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
    if (!ike::auth::is_signable_digest(std::as_bytes(std::span(request->hash)))) {
      return unexpected("sign: a " + std::to_string(request->hash.size()) + "-byte input is neither a hash nor a DigestInfo");
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
  KerberosWorker kerberos_;   // the host keytab and the GSS contexts
  std::deque<std::pair<std::uint32_t, std::unique_ptr<const ike::auth::CertificateKey>>> keys_;
};

}  // namespace

int run_key_child(const std::string& user) {
  std::shared_ptr<KeyChild> child;
  return privsep::run_child(
      user, privsep::NetworkSockets::Inherited, keyproc::kReady,
      [&child] {
        child = std::make_shared<KeyChild>();
        // On the endpoint's one reader thread: calls are answered one at a time, Kerberos ones
        // queued for their worker.
        return privsep::Endpoint::Handler([child](Incoming& m) { return child->handle(m); });
      },
      keep_private_krb5_config,   // libkrb5 (the keytab, the GSS steps) reads it
      [&child](privsep::Endpoint& endpoint) { child->attach(endpoint); });
}

}  // namespace ward::agent::daemon
