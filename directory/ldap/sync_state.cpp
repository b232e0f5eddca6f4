#include "directory/ldap/sync_state.h"

namespace ward::ldap {

void SyncWatchState::begin() {
  resumed_ = !cookie_.empty();
  had_content_ = had_content_ || !dn_by_uuid_.empty();
  in_refresh_ = true;
  mentioned_.clear();
}

void SyncWatchState::apply_entry(const SyncMessage& message, SyncOutcome& out) {
  const std::string& uuid = message.uuid;
  const auto known = dn_by_uuid_.find(uuid);
  if (in_refresh_) mentioned_.insert(uuid);
  if (message.state == SyncState::kPresent) {
    if (known == dn_by_uuid_.end() && !message.entry.dn.empty()) dn_by_uuid_[uuid] = message.entry.dn;
    return;
  }
  if (message.state == SyncState::kDelete) {
    if (!message.entry.dn.empty()) out.changed_dns.push_back(message.entry.dn);
    if (known != dn_by_uuid_.end()) {
      if (known->second != message.entry.dn) out.changed_dns.push_back(known->second);
      dn_by_uuid_.erase(known);
    } else if (message.entry.dn.empty()) {
      out.unknown = true;
    }
    return;
  }
  // Add or modify. In a refresh without a cookie these are the content, not changes.
  const bool is_change = !in_refresh_ || resumed_;
  if (is_change) {
    out.changed_dns.push_back(message.entry.dn);
    if (known != dn_by_uuid_.end() && known->second != message.entry.dn) out.changed_dns.push_back(known->second);
  } else if (had_content_) {
    out.unknown = true;  // a full reload after a refused cookie: what changed is not known
  }
  dn_by_uuid_[uuid] = message.entry.dn;
}

void SyncWatchState::end_refresh(const SyncMessage& message, SyncOutcome& out) {
  // A present phase: every entry not mentioned is gone.
  if (message.present_phase) {
    for (auto it = dn_by_uuid_.begin(); it != dn_by_uuid_.end();) {
      if (mentioned_.contains(it->first)) {
        ++it;
        continue;
      }
      if (resumed_ || had_content_) out.changed_dns.push_back(it->second);
      it = dn_by_uuid_.erase(it);
    }
  }
  mentioned_.clear();
  in_refresh_ = false;
  established_once_ = true;
  out.refresh_done = true;
}

SyncOutcome SyncWatchState::apply(const std::vector<SyncMessage>& messages) {
  SyncOutcome out;
  for (const auto& message : messages) {
    if (message.cookie) cookie_.merge(*message.cookie);
    switch (message.kind) {
      case SyncMessage::Kind::kEntry:
        apply_entry(message, out);
        break;
      case SyncMessage::Kind::kIdSet:
        for (const auto& uuid : message.uuids) {
          if (!message.deletes) {
            mentioned_.insert(uuid);
            continue;
          }
          const auto known = dn_by_uuid_.find(uuid);
          if (known == dn_by_uuid_.end()) {
            out.unknown = true;
            continue;
          }
          out.changed_dns.push_back(known->second);
          dn_by_uuid_.erase(known);
        }
        break;
      case SyncMessage::Kind::kRefreshDone:
        end_refresh(message, out);
        break;
      case SyncMessage::Kind::kCookie:
        break;
    }
  }
  return out;
}

}  // namespace ward::ldap
