#include "agent/daemon/key_process.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "agent/daemon/kdc_relay.h"
#include "agent/daemon/key_wire.h"

namespace ward::agent::daemon {

using namespace keyproc;
using privsep::Body;

namespace {

// The encoded note holds the key: wiped once sent.
Expected<void, std::string> send_preshared_key(privsep::Endpoint& child, std::uint32_t handle, const driver::crypto::SecureBytes& key) {
  auto body = ikeproc::encode(PresharedKeyNote{handle, key});
  auto sent = child.notify(kPresharedKey, body);
  OPENSSL_cleanse(body.data(), body.size());
  return sent;
}

}  // namespace

KeyProcess::KeyProcess(Logger& log, std::vector<std::string> argv, std::string user)
    : log_(log), argv_(std::move(argv)), user_(std::move(user)) {}

KeyProcess::~KeyProcess() { stop(); }

Expected<void, std::string> KeyProcess::start() {
  privsep::ChildSpec spec;
  spec.name = "keys";
  spec.argv = argv_;
  auto supervisor = privsep::Supervisor::start(
      spec, [this](pid_t pid, std::shared_ptr<privsep::Channel> channel) { started(pid, std::move(channel)); },
      [this](pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) { exited(pid, how, restart_in); });
  if (!supervisor) return unexpected("the key process: " + supervisor.error());
  supervisor_ = std::move(*supervisor);
  return {};
}

void KeyProcess::stop() {
  if (supervisor_) {
    supervisor_->stop();
    supervisor_.reset();
  }
  {
    const std::lock_guard lock(mutex_);
    endpoint_.reset();
  }
  {
    const std::lock_guard lock(kdc_mutex_);
    kdc_stopping_ = true;
    kdc_jobs_.clear();
  }
  kdc_wake_.notify_all();
  if (kdc_thread_.joinable()) kdc_thread_.join();
}

Expected<Body, std::string> KeyProcess::queue_kdc_send(privsep::Incoming& m, std::weak_ptr<privsep::Endpoint> endpoint) {
  if (!m.is_call) return unexpected(std::string("kKdcSend is a call"));
  {
    const std::lock_guard lock(kdc_mutex_);
    if (kdc_jobs_.size() >= kMaxQueuedKdcMessages) {
      return unexpected(std::to_string(kdc_jobs_.size()) + " KDC messages wait for wardd already");
    }
    if (!kdc_thread_.joinable()) kdc_thread_ = std::thread([this] { relay_kdc_messages(); });
    kdc_jobs_.push_back({std::move(endpoint), m.call_id, Body(m.body.begin(), m.body.end())});
  }
  m.reply_later = true;
  kdc_wake_.notify_all();
  return Body{};
}

void KeyProcess::relay_kdc_messages() {
  for (;;) {
    KdcJob job;
    {
      std::unique_lock lock(kdc_mutex_);
      kdc_wake_.wait(lock, [this] { return kdc_stopping_ || !kdc_jobs_.empty(); });
      if (kdc_stopping_) return;
      job = std::move(kdc_jobs_.front());
      kdc_jobs_.pop_front();
    }
    Expected<Body, std::string> answer = Body{};
    auto request = ikeproc::decode<KdcRequest>(job.body);
    if (!request) {
      answer = unexpected(std::move(request.error()));
    } else if (request->message.size() > kMaxKdcMessageBytes) {
      answer = unexpected("a " + std::to_string(request->message.size()) + "-byte KDC message is too long");
    } else {
      auto reply = send_to_kdc(request->realm, request->message);
      if (!reply) {
        answer = unexpected(std::move(reply.error()));
      } else if (reply->size() > kMaxKdcMessageBytes) {
        answer = unexpected("the KDC's " + std::to_string(reply->size()) + "-byte reply is too long to hand on");
      } else {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(reply->data());
        answer = Body(bytes, bytes + reply->size());
      }
    }
    if (auto endpoint = job.endpoint.lock()) (void)endpoint->reply(job.call_id, answer);
  }
}

std::shared_ptr<privsep::Endpoint> KeyProcess::endpoint() const {
  const std::lock_guard lock(mutex_);
  return endpoint_;
}

void KeyProcess::started(pid_t pid, std::shared_ptr<privsep::Channel> channel) {
  // The handler knows its endpoint weakly (kKdcSend is answered later, from the relay thread).
  auto self = std::make_shared<std::weak_ptr<privsep::Endpoint>>();
  auto ep = std::make_shared<privsep::Endpoint>(
      channel,
      [this, pid, self](privsep::Incoming& m) -> Expected<Body, std::string> {
        if (m.type == kKdcSend) return queue_kdc_send(m, *self);
        if (m.type == keyproc::kReady && !m.is_call) {
          const std::string said(m.body.begin(), m.body.end());
          if (said == "ok") log_.info("key-process-ready", {{"pid", std::to_string(pid)}});
          else log_.error("key-process-failed", {{"pid", std::to_string(pid)}, {"why", said}});
          return Body{};
        }
        return unexpected("wardd answers no message " + std::to_string(m.type) + " of the key process");
      },
      [](const std::string&) {});
  *self = ep;
  log_.info("key-process-started", {{"pid", std::to_string(pid)}, {"user", user_}});
  // Everything the last child held, before anyone can call the new one. A certificate load
  // (start-up, reload) waits meanwhile: it then goes to this child, never only to the one that died;
  // the preshared keys are sent under the lock add_preshared_key takes, with the switch to this child.
  const std::lock_guard loading(loading_);
  std::optional<CertificateKey> certificate;
  {
    const std::lock_guard lock(mutex_);
    certificate = certificate_;
  }
  if (certificate) {
    if (auto sent = send_certificate_key(*ep, *certificate); !sent) {
      log_.error("key-process-certificate-refused", {{"pid", std::to_string(pid)}, {"why", sent.error()}});
    }
  }
  std::shared_ptr<privsep::Endpoint> previous;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [handle, key] : preshared_) {
      if (auto sent = send_preshared_key(*ep, handle, key); !sent) {
        log_.warning("key-process-start", {{"pid", std::to_string(pid)}, {"why", sent.error()}});
      }
    }
    previous = std::exchange(endpoint_, std::move(ep));
    ++child_;
  }
  child_pid_ = pid;
  if (keytab_settings_) {
    if (auto loaded = current_keytab(); !loaded) {
      log_.error("key-process-keytab-refused", {{"pid", std::to_string(pid)}, {"why", loaded.error()}});
    }
  }
}

void KeyProcess::exited(pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) {
  log_.warning("key-process-exited", {{"pid", std::to_string(pid)}, {"how", how}, {"restart_in_ms", std::to_string(restart_in.count())}});
  std::shared_ptr<privsep::Endpoint> gone;
  {
    const std::lock_guard lock(mutex_);
    gone = std::move(endpoint_);
  }
  child_pid_ = -1;
}

Expected<Body, std::string> KeyProcess::call(std::uint32_t type, std::span<const std::uint8_t> body) {
  const auto child = endpoint();
  if (!child) return unexpected(std::string("the key process is not running (restarting)"));
  auto answer = child->call(type, body, kKeyCallTimeout);
  if (!answer) return unexpected("the key process: " + answer.error());
  return answer;
}

void KeyProcess::add_preshared_key(std::uint32_t handle, driver::crypto::SecureBytes key) {
  const std::lock_guard lock(mutex_);
  if (endpoint_) {
    if (auto sent = send_preshared_key(*endpoint_, handle, key); !sent) {
      log_.warning("key-process-call-failed", {{"why", "preshared key " + std::to_string(handle) + ": " + sent.error()}});
    }
  }
  preshared_.insert_or_assign(handle, std::move(key));
}

Expected<driver::crypto::SecureBytes, std::string> KeyProcess::skeyid(const ikeproc::SkeyidRequest& request) {
  auto answer = call(kSkeyid, ikeproc::encode(request));
  if (!answer) return unexpected(std::move(answer.error()));
  driver::crypto::SecureBytes skeyid(std::as_bytes(std::span(answer->data(), answer->size())));
  OPENSSL_cleanse(answer->data(), answer->size());
  return skeyid;
}

Expected<void, std::string> KeyProcess::send_certificate_key(privsep::Endpoint& child, const CertificateKey& key) {
  const int fd = ::open(key.key_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return unexpected("private key file " + key.key_file.string() + " cannot be opened: " + std::strerror(errno));
  const privsep::OwnedFd file(fd);   // closed here once sent: the key process holds the only descriptor
  if (auto sent = child.notify(kCertificateKeyFile, {}, file.get()); !sent) return unexpected("the key process: " + sent.error());
  const CertificateKeyRequest request{key.generation, key.certificate_pem, "private key file " + key.key_file.string()};
  auto answer = child.call(kCertificateKey, ikeproc::encode(request), kKeyLoadTimeout);
  if (!answer) return unexpected(std::move(answer.error()));
  return {};
}

Expected<std::uint32_t, std::string> KeyProcess::load_certificate_key(const std::string& certificate_pem,
                                                                      const std::filesystem::path& key_file) {
  const std::lock_guard loading(loading_);
  const auto child = endpoint();
  if (!child) return unexpected(std::string("the key process is not running (restarting)"));
  CertificateKey key;
  {
    const std::lock_guard lock(mutex_);
    key = {next_generation_++, certificate_pem, key_file};
  }
  if (auto sent = send_certificate_key(*child, key); !sent) return unexpected(std::move(sent.error()));
  const std::lock_guard lock(mutex_);
  certificate_ = key;
  return key.generation;
}

Expected<std::vector<std::byte>, std::string> KeyProcess::sign(std::uint32_t generation, std::span<const std::byte> hash) {
  ikeproc::SignRequest request;
  request.handle = generation;
  request.hash.assign(hash.begin(), hash.end());
  auto answer = call(kSign, ikeproc::encode(request));
  if (!answer) return unexpected(std::move(answer.error()));
  const auto bytes = std::as_bytes(std::span(answer->data(), answer->size()));
  return std::vector<std::byte>(bytes.begin(), bytes.end());
}

namespace {

std::int64_t nanoseconds(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

}  // namespace

Expected<Body, std::string> KeyProcess::call_child(std::uint64_t child, std::uint32_t type, std::span<const std::uint8_t> body,
                                                   std::chrono::milliseconds timeout) {
  std::shared_ptr<privsep::Endpoint> ep;
  {
    const std::lock_guard lock(mutex_);
    if (!endpoint_) return unexpected(std::string("the key process is not running (restarting)"));
    if (child != child_) return unexpected(std::string("the key process was replaced since this exchange began"));
    ep = endpoint_;
  }
  auto answer = ep->call(type, body, timeout);
  // The key process's own Kerberos errors are said as in process (KerberosProvider's words).
  if (!answer && !answer.error().starts_with("Kerberos: ")) return unexpected("the key process: " + answer.error());
  return answer;
}

Expected<void, std::string> KeyProcess::use_keytab(KeytabSettings settings) {
  const std::lock_guard loading(loading_);
  keytab_settings_ = std::move(settings);
  keytab_.reset();
  auto loaded = current_keytab();
  if (!loaded) return unexpected(std::move(loaded.error()));
  return {};
}

Expected<KeyProcess::KeytabInUse, std::string> KeyProcess::keytab_in_use() {
  const std::lock_guard loading(loading_);
  auto current = current_keytab();
  if (!current) return unexpected(std::move(current.error()));
  return KeytabInUse{*current, keytab_->child};
}

Expected<std::uint32_t, std::string> KeyProcess::current_keytab() {
  if (!keytab_settings_) return unexpected(std::string("no keytab was handed to the key process"));
  const auto& settings = *keytab_settings_;
  const std::string named = "keytab " + settings.path.string();
  struct stat seen {};
  if (::stat(settings.path.c_str(), &seen) != 0) return unexpected(named + " cannot be read: " + std::strerror(errno));
  const auto stamp_of = [](const struct stat& s) {
    return FileStamp{s.st_dev, s.st_ino, s.st_size, nanoseconds(s.st_mtim), nanoseconds(s.st_ctim)};
  };
  std::shared_ptr<privsep::Endpoint> child;
  std::uint64_t child_id = 0;
  std::uint32_t generation = 0;
  {
    const std::lock_guard lock(mutex_);
    if (!endpoint_) return unexpected(std::string("the key process is not running (restarting)"));
    if (keytab_ && keytab_->child == child_ && keytab_->stamp == stamp_of(seen)) return keytab_->generation;
    child = endpoint_;
    child_id = child_;
    generation = next_generation_++;
  }
  const int fd = ::open(settings.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return unexpected(named + " cannot be opened: " + std::strerror(errno));
  const privsep::OwnedFd file(fd);   // closed here once sent: the key process holds the only descriptor
  struct stat opened {};
  if (::fstat(file.get(), &opened) != 0) return unexpected(named + " cannot be read: " + std::strerror(errno));
  if (auto sent = child->notify(kKeytabFile, {}, file.get()); !sent) return unexpected("the key process: " + sent.error());
  const KeytabRequest request{generation, settings.path.string(), settings.own_principal, settings.acceptor_principal};
  auto answer = child->call(kKeytab, ikeproc::encode(request), kKeyLoadTimeout);
  if (!answer) return unexpected(std::move(answer.error()));
  keytab_ = LoadedKeytab{generation, child_id, stamp_of(opened)};
  return generation;
}

Expected<KeyProcess::GssAccepted, std::string> KeyProcess::gss_accept(const IpAddress& peer, const std::string& expected_principal,
                                                                      std::vector<std::vector<std::byte>> tokens) {
  auto in_use = keytab_in_use();
  if (!in_use) return unexpected("Kerberos: " + in_use.error());
  const auto [keytab, child] = *in_use;
  const GssAcceptRequest request{keytab, peer, expected_principal, std::move(tokens)};
  auto answer = call_child(child, kGssAccept, ikeproc::encode(request));
  if (!answer) return unexpected(std::move(answer.error()));
  auto accepted = ikeproc::decode<ikeproc::GssTokens>(*answer);
  if (!accepted) return unexpected("the key process: " + accepted.error());
  return GssAccepted{child, accepted->exchange, std::move(accepted->tokens)};
}

Expected<KeyProcess::GssAccepted, std::string> KeyProcess::gss_init(const IpAddress& peer, const std::string& target) {
  auto in_use = keytab_in_use();
  if (!in_use) return unexpected("Kerberos: " + in_use.error());
  const auto [keytab, child] = *in_use;
  auto answer = call_child(child, kGssInit, ikeproc::encode(GssInitRequest{keytab, peer, target}), kKeyGssInitTimeout);
  if (!answer) return unexpected(std::move(answer.error()));
  auto opened = ikeproc::decode<ikeproc::GssTokens>(*answer);
  if (!opened) return unexpected("the key process: " + opened.error());
  return GssAccepted{child, opened->exchange, std::move(opened->tokens)};
}

Expected<KeyProcess::Tgt, std::string> KeyProcess::tgt(const std::string& client) {
  auto in_use = keytab_in_use();
  if (!in_use) return unexpected(std::move(in_use.error()));
  const auto [keytab, child] = *in_use;
  auto answer = call_child(child, kTgt, ikeproc::encode(TgtRequest{keytab, client}), kKeyGssInitTimeout);
  if (!answer) return unexpected(std::move(answer.error()));
  auto decoded = ikeproc::decode<TgtAnswer>(*answer);
  OPENSSL_cleanse(answer->data(), answer->size());
  if (!decoded) return unexpected("the key process: " + decoded.error());
  return Tgt{std::move(decoded->ticket), static_cast<std::int64_t>(decoded->end)};
}

Expected<void, std::string> KeyProcess::gss_finish(std::uint64_t child, std::uint32_t exchange, std::vector<std::vector<std::byte>> tokens) {
  auto answer = call_child(child, kGssFinish, ikeproc::encode(ikeproc::GssTokens{exchange, ike::auth::Role::Responder, std::move(tokens)}));
  if (!answer) return unexpected(std::move(answer.error()));
  return {};
}

Expected<ikeproc::GssResult, std::string> KeyProcess::gss_authenticate(std::uint64_t child, const ikeproc::GssAuthenticate& request,
                                                                       bool check) {
  auto body = ikeproc::encode(request);   // holds SKEYID: wiped once sent
  auto answer = call_child(child, check ? kGssUnwrap : kGssWrap, body);
  OPENSSL_cleanse(body.data(), body.size());
  if (!answer) return unexpected(std::move(answer.error()));
  auto result = ikeproc::decode<ikeproc::GssResult>(*answer);
  if (!result) return unexpected("the key process: " + result.error());
  return result;
}

void KeyProcess::gss_end(std::uint64_t child, std::uint32_t exchange) {
  std::shared_ptr<privsep::Endpoint> ep;
  {
    const std::lock_guard lock(mutex_);
    if (!endpoint_ || child != child_) return;   // the exchange died with its child
    ep = endpoint_;
  }
  (void)ep->notify(kGssEnd, ikeproc::encode(ikeproc::GssExchange{exchange}));
}

}  // namespace ward::agent::daemon
