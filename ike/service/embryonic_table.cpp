#include "ike/service/embryonic_table.h"

#include <algorithm>
#include <cstring>

namespace ward::ike::service {

namespace {

std::size_t footprint(const EmbryonicMainMode& entry) { return entry.message_1.size() + entry.message_2.size(); }

}  // namespace

std::size_t EmbryonicTable::KeyHash::operator()(const Key& key) const noexcept {
  // The responder cookie is an HMAC under a secret (responder_cookies.h): its bytes are a hash
  // an attacker cannot steer; the initiator's half is mixed in for entries with equal halves.
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::memcpy(&a, key.data(), sizeof a);
  std::memcpy(&b, key.data() + kCookieSize, sizeof b);
  return static_cast<std::size_t>(b ^ (a * 0x9e3779b97f4a7c15ull));
}

EmbryonicTable::Key EmbryonicTable::key_of(const Cookie& initiator, const Cookie& responder) {
  Key key{};
  std::copy(initiator.begin(), initiator.end(), key.begin());
  std::copy(responder.begin(), responder.end(), key.begin() + kCookieSize);
  return key;
}

void EmbryonicTable::erase(std::list<EmbryonicMainMode>::iterator it) {
  bytes_ -= footprint(*it);
  if (auto peer = per_peer_.find(it->peer); peer != per_peer_.end() && --peer->second == 0) per_peer_.erase(peer);
  index_.erase(key_of(it->initiator_cookie, it->responder_cookie));
  order_.erase(it);
}

EmbryonicTable::Added EmbryonicTable::add(EmbryonicMainMode entry, std::size_t& evicted) {
  evicted = 0;
  const auto key = key_of(entry.initiator_cookie, entry.responder_cookie);
  if (auto existing = index_.find(key); existing != index_.end()) erase(existing->second);
  if (count_for(entry.peer) >= limits_.max_per_peer) return Added::PeerLimit;
  bytes_ += footprint(entry);
  ++per_peer_[entry.peer];
  order_.push_back(std::move(entry));
  index_.emplace(key, std::prev(order_.end()));
  while (!order_.empty() && (order_.size() > limits_.max_entries || bytes_ > limits_.max_bytes)) {
    erase(order_.begin());
    ++evicted;
  }
  return Added::Added;
}

const EmbryonicMainMode* EmbryonicTable::find(const Cookie& initiator, const Cookie& responder) const {
  const auto it = index_.find(key_of(initiator, responder));
  return it == index_.end() ? nullptr : &*it->second;
}

std::optional<EmbryonicMainMode> EmbryonicTable::take(const Cookie& initiator, const Cookie& responder) {
  const auto it = index_.find(key_of(initiator, responder));
  if (it == index_.end()) return std::nullopt;
  EmbryonicMainMode entry = *it->second;
  erase(it->second);
  return entry;
}

std::size_t EmbryonicTable::count_for(const IpAddress& peer) const {
  const auto it = per_peer_.find(peer);
  return it == per_peer_.end() ? 0 : it->second;
}

std::size_t EmbryonicTable::expire(sa::TimePoint cutoff) {
  std::size_t removed = 0;
  while (!order_.empty() && order_.front().created < cutoff) {
    erase(order_.begin());
    ++removed;
  }
  return removed;
}

std::optional<sa::TimePoint> EmbryonicTable::oldest() const {
  if (order_.empty()) return std::nullopt;
  return order_.front().created;
}

}  // namespace ward::ike::service
