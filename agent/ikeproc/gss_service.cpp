#include "agent/ikeproc/gss_service.h"

#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire_gss.h"

namespace ward::agent::ikeproc {

using ike::auth::MainModeTranscript;
using ike::auth::Role;

namespace {

// A MainModeTranscript over the wire form (which must outlive it).
MainModeTranscript transcript_of(const RemoteTranscript& t) {
  return {t.hash, &t.skeyid, t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b};
}

// A message carrying only `payloads`: what the providers read from main mode 3/4 and 5/6.
ike::ParsedMessage message_of(std::vector<ike::Payload> payloads) {
  ike::ParsedMessage m;
  m.payloads = std::move(payloads);
  return m;
}

bool is_gss(std::uint32_t type) {
  return type == kGssOpen || type == kGssKeyExchange || type == kGssConsume || type == kGssAuthenticate || type == kGssCheck ||
         type == kGssClose;
}

}  // namespace

GssService::GssService(std::size_t max_exchanges, std::size_t max_queued, Refused refused, Failed failed)
    : max_exchanges_(max_exchanges), max_queued_(max_queued), refused_(std::move(refused)), failed_(std::move(failed)) {
  worker_ = std::thread([this] { work(); });
}

GssService::~GssService() {
  {
    const std::lock_guard lock(queue_mutex_);
    stopping_ = true;
    queue_.clear();
  }
  queued_.notify_all();
  worker_.join();
}

std::optional<Expected<privsep::Body, std::string>> GssService::dispatch(privsep::Incoming& message,
                                                                          std::weak_ptr<privsep::Endpoint> endpoint) {
  if (!is_gss(message.type)) return std::nullopt;
  // Closing is a map erase (no KDC), and a note: nothing to wait for.
  if (message.type == kGssClose || !message.is_call) return handle(message.type, message.body);
  {
    const std::lock_guard lock(queue_mutex_);
    if (queue_.size() >= max_queued_) {
      std::string why = "Kerberos: " + std::to_string(queue_.size()) + " GSS steps are queued already";
      if (refused_) refused_(why);
      return unexpected(std::move(why));
    }
    queue_.push_back({message.type, privsep::Body(message.body.begin(), message.body.end()), message.call_id, std::move(endpoint),
                      std::chrono::steady_clock::now()});
  }
  message.reply_later = true;
  queued_.notify_one();
  return privsep::Body{};
}

void GssService::work() {
  for (;;) {
    Step step;
    {
      std::unique_lock lock(queue_mutex_);
      queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      step = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - step.queued);
    Expected<privsep::Body, std::string> answer = privsep::Body{};
    if (step.endpoint.expired()) {
      answer = unexpected(std::string("Kerberos: the IKE process that asked is gone"));
    } else if (waited > kGssStepDeadline) {
      answer = unexpected("Kerberos: the step waited " + std::to_string(waited.count()) + " ms for the ones before it");
    } else {
      answer = handle_known(step.type, step.body);
    }
    if (!answer && failed_) failed_(step.type, answer.error());
    if (auto endpoint = step.endpoint.lock()) {
      (void)endpoint->reply(step.call_id, answer);
    } else if (answer && step.type == kGssOpen) {
      // Its child died meanwhile (clear() may have run already): nobody will close this exchange.
      if (auto opened = decode<GssExchange>(*answer)) {
        const std::lock_guard lock(mutex_);
        exchanges_.erase(opened->exchange);
      }
    }
  }
}

void GssService::use(std::shared_ptr<const ike::auth::AuthProvider> kerberos) {
  const std::lock_guard lock(mutex_);
  kerberos_ = std::move(kerberos);
}

void GssService::clear() {
  {
    const std::lock_guard lock(queue_mutex_);
    queue_.clear();
  }
  const std::lock_guard lock(mutex_);
  exchanges_.clear();
}

std::size_t GssService::open_exchanges() const {
  const std::lock_guard lock(mutex_);
  return exchanges_.size();
}

std::size_t GssService::queued_steps() const {
  const std::lock_guard lock(queue_mutex_);
  return queue_.size();
}

std::shared_ptr<ike::auth::AuthProvider> GssService::exchange(std::uint32_t id) const {
  const std::lock_guard lock(mutex_);
  const auto found = exchanges_.find(id);
  return found == exchanges_.end() ? nullptr : found->second;
}

std::optional<Expected<privsep::Body, std::string>> GssService::handle(std::uint32_t type, std::span<const std::uint8_t> body) {
  if (!is_gss(type)) return std::nullopt;
  return handle_known(type, body);
}

Expected<privsep::Body, std::string> GssService::handle_known(std::uint32_t type, std::span<const std::uint8_t> body) {
  if (type == kGssOpen) {
    auto open = decode<GssOpen>(body);
    if (!open) return unexpected(std::move(open.error()));
    std::shared_ptr<const ike::auth::AuthProvider> kerberos;
    {
      const std::lock_guard lock(mutex_);
      kerberos = kerberos_;
      if (exchanges_.size() >= max_exchanges_) {
        std::string why = "Kerberos: " + std::to_string(exchanges_.size()) + " exchanges are open already";
        if (refused_) refused_(why);
        return unexpected(std::move(why));
      }
    }
    if (!kerberos) return unexpected(std::string("Kerberos: no rule of the policy authenticates with Kerberos"));
    std::shared_ptr<ike::auth::AuthProvider> made = kerberos->for_exchange(open->role, open->peer);
    if (!made) return unexpected(std::string("Kerberos: the provider keeps no per-exchange state"));
    const std::lock_guard lock(mutex_);
    const auto id = next_++;
    exchanges_.emplace(id, std::move(made));
    return encode(GssExchange{id});
  }
  if (type == kGssClose) {
    auto close = decode<GssExchange>(body);
    if (!close) return unexpected(std::move(close.error()));
    const std::lock_guard lock(mutex_);
    exchanges_.erase(close->exchange);
    return privsep::Body{};
  }
  if (type == kGssKeyExchange || type == kGssConsume) {
    auto step = decode<GssTokens>(body);
    if (!step) return unexpected(std::move(step.error()));
    const auto provider = exchange(step->exchange);
    if (!provider) return unexpected("Kerberos: no exchange " + std::to_string(step->exchange));
    if (type == kGssConsume) {
      std::vector<ike::Payload> tokens;
      for (auto& token : step->tokens) tokens.push_back(ike::GssToken{std::move(token)});
      auto consumed = provider->consume_key_exchange_payloads(step->role, message_of(std::move(tokens)));
      if (!consumed) return unexpected(std::move(consumed.error()));
      return privsep::Body{};
    }
    auto payloads = provider->build_key_exchange_payloads(step->role);
    if (!payloads) return unexpected(std::move(payloads.error()));
    GssTokens out{step->exchange, step->role, {}};
    for (auto& p : *payloads) {
      if (auto* token = std::get_if<ike::GssToken>(&p)) out.tokens.push_back(std::move(token->data));
    }
    return encode(out);
  }
  auto request = decode<GssAuthenticate>(body);
  if (!request) return unexpected(std::move(request.error()));
  const auto provider = exchange(request->exchange);
  if (!provider) return unexpected("Kerberos: no exchange " + std::to_string(request->exchange));
  const auto transcript = transcript_of(request->transcript);
  GssResult result;
  if (type == kGssAuthenticate) {
    auto payloads = provider->build_authentication(request->role, transcript, request->id_b);
    if (!payloads) return unexpected(std::move(payloads.error()));
    for (auto& p : *payloads) {
      if (auto* hash = std::get_if<ike::Hash>(&p)) result.hash = std::move(hash->data);
    }
    if (result.hash.empty()) return unexpected(std::string("Kerberos: no HASH payload to send"));
    return encode(result);
  }
  auto checked = provider->check_authentication(request->role, transcript, request->id_b,
                                                message_of({ike::Hash{std::move(request->hash)}}));
  if (!checked) return unexpected(std::move(checked.error().text));
  result.principal = provider->peer_identity();
  return encode(result);
}

}  // namespace ward::agent::ikeproc
