#include "agent/privsep/endpoint.h"

#include <cstring>

namespace ward::agent::privsep {

Endpoint::Endpoint(std::shared_ptr<Channel> channel, Handler handler, Closed closed)
    : channel_(std::move(channel)), handler_(std::move(handler)), closed_(std::move(closed)) {
  reader_ = std::thread([this] { read_loop(); });
}

Endpoint::~Endpoint() {
  channel_->shutdown();
  if (reader_.joinable()) reader_.join();
}

bool Endpoint::open() const {
  const std::lock_guard lock(mutex_);
  return !closed_why_;
}

Expected<void, std::string> Endpoint::send(std::uint32_t type, std::uint64_t id, std::span<const std::uint8_t> body, int fd) {
  Body framed(sizeof id + body.size());
  std::memcpy(framed.data(), &id, sizeof id);
  if (!body.empty()) std::memcpy(framed.data() + sizeof id, body.data(), body.size());
  const std::lock_guard lock(send_mutex_);
  return channel_->send(type, framed, fd);
}

Expected<void, std::string> Endpoint::notify(std::uint32_t type, std::span<const std::uint8_t> body, int fd) {
  return send(type, 0, body, fd);
}

Expected<Body, std::string> Endpoint::call(std::uint32_t type, std::span<const std::uint8_t> body, std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<Pending>();
  std::uint64_t id = 0;
  {
    const std::lock_guard lock(mutex_);
    if (closed_why_) return unexpected(*closed_why_);
    id = next_id_++;
    pending_[id] = pending;
  }
  if (auto sent = send(type, id, body, -1); !sent) {
    const std::lock_guard lock(mutex_);
    pending_.erase(id);
    return unexpected(std::move(sent.error()));
  }
  std::unique_lock lock(mutex_);
  if (!replied_.wait_for(lock, timeout, [&] { return pending->done; })) {
    pending_.erase(id);
    return unexpected("no reply to message type " + std::to_string(type) + " within " + std::to_string(timeout.count()) + " ms");
  }
  return std::move(pending->result);
}

void Endpoint::close_all(const std::string& why) {
  {
    const std::lock_guard lock(mutex_);
    if (closed_why_) return;
    closed_why_ = why;
    for (auto& [id, pending] : pending_) {
      pending->done = true;
      pending->result = unexpected(why);
    }
    pending_.clear();
  }
  replied_.notify_all();
  if (closed_) closed_(why);
}

void Endpoint::read_loop() {
  for (;;) {
    auto message = channel_->receive(std::chrono::milliseconds(-1));
    if (!message) {
      if (message.error().kind == ChannelError::Kind::Timeout) continue;
      close_all(message.error().message);
      return;
    }
    std::uint64_t id = 0;
    if (message->body.size() < sizeof id) {
      close_all("a message of type " + std::to_string(message->type) + " has no call id");
      channel_->shutdown();
      return;
    }
    std::memcpy(&id, message->body.data(), sizeof id);
    const std::span<const std::uint8_t> rest(message->body.data() + sizeof id, message->body.size() - sizeof id);
    if (message->type == kReply) {
      if (rest.empty() || rest[0] > 1) {
        close_all("a reply without a status");
        channel_->shutdown();
        return;
      }
      const std::lock_guard lock(mutex_);
      const auto found = pending_.find(id);
      if (found == pending_.end()) continue;   // its caller gave up waiting
      found->second->done = true;
      if (rest[0] == 1) found->second->result = Body(rest.begin() + 1, rest.end());
      else found->second->result = unexpected(std::string(rest.begin() + 1, rest.end()));
      pending_.erase(found);
      replied_.notify_all();
      continue;
    }
    Incoming incoming{message->type, rest, std::move(message->fd), id != 0, id, false};
    auto answer = handler_(incoming);
    if (id == 0 || incoming.reply_later) continue;
    (void)reply(id, answer);
  }
}

Expected<void, std::string> Endpoint::reply(std::uint64_t call_id, const Expected<Body, std::string>& answer) {
  Body framed;
  framed.push_back(answer ? 1 : 0);
  if (answer) framed.insert(framed.end(), answer->begin(), answer->end());
  else framed.insert(framed.end(), answer.error().begin(), answer.error().end());
  return send(kReply, call_id, framed, -1);
}

}  // namespace ward::agent::privsep
