// Session::root_dse, probe, supports_control and Session::sync_persist: RFC 4533 refreshAndPersist as a change
// notification. Only what a watcher needs is decoded: the phase end of the refresh (a Sync Info
// message with refreshDelete/refreshPresent, or the Sync Done control) and the entries sent after
// it. start_sync / poll_sync are the non-blocking form that decodes every message (Sync State
// control, syncInfo cookies and syncIdSets), so that a watcher can keep the cookie across
// reconnects and tell which entries changed (SyncWatchState, sync_state.h).
#include <ldap.h>

#include "directory/ldap/session_handle.h"

#include "directory/ldap/ldap_string.h"

namespace ward::ldap {

using internal::make_error;
using internal::ControlPtr;
using internal::ControlsPtr;
using internal::MessagePtr;

namespace {

struct BerDeleter {
  void operator()(BerElement* b) const { ber_free(b, 1); }
};
using BerPtr = std::unique_ptr<BerElement, BerDeleter>;

struct BervalDeleter {
  void operator()(berval* v) const { ber_bvfree(v); }
};
using BervalPtr = std::unique_ptr<berval, BervalDeleter>;

// syncRequestValue ::= SEQUENCE { mode ENUMERATED, cookie OCTET STRING OPTIONAL,
//                                 reloadHint BOOLEAN DEFAULT FALSE }, with mode refreshAndPersist.
Expected<ControlPtr, int> sync_request_control(LDAP* ld, std::string_view cookie = {}) {
  BerPtr ber(ber_alloc_t(LBER_USE_DER));
  if (!ber) return unexpected(LDAP_NO_MEMORY);
  int printed = 0;
  if (cookie.empty()) {
    printed = ber_printf(ber.get(), "{e}", static_cast<ber_int_t>(LDAP_SYNC_REFRESH_AND_PERSIST));
  } else {
    berval value{static_cast<ber_len_t>(cookie.size()), const_cast<char*>(cookie.data())};
    printed = ber_printf(ber.get(), "{eO}", static_cast<ber_int_t>(LDAP_SYNC_REFRESH_AND_PERSIST), &value);
  }
  if (printed < 0) return unexpected(LDAP_ENCODING_ERROR);
  berval value{0, nullptr};
  if (ber_flatten2(ber.get(), &value, 0) < 0) return unexpected(LDAP_ENCODING_ERROR);
  LDAPControl* raw = nullptr;
  // Critical: a server without syncprov must refuse the search, not run it as a plain one.
  const int rc = ldap_control_create(LDAP_CONTROL_SYNC, 1, &value, 1, &raw);
  if (rc != LDAP_SUCCESS) return unexpected(rc);
  (void)ld;
  return ControlPtr(raw);
}

// True when a syncInfoValue ends the refresh phase: refreshDelete or refreshPresent with
// refreshDone TRUE (its default). newcookie and syncIdSet do not.
bool ends_refresh(const berval& value) {
  berval copy = value;
  BerPtr ber(ber_init(&copy));
  if (!ber) return false;
  ber_len_t length = 0;
  const ber_tag_t tag = ber_peek_tag(ber.get(), &length);
  if (tag != LDAP_TAG_SYNC_REFRESH_DELETE && tag != LDAP_TAG_SYNC_REFRESH_PRESENT) return false;
  if (ber_scanf(ber.get(), "{") == LBER_ERROR) return false;
  ber_int_t done = 1;
  for (ber_tag_t next = ber_peek_tag(ber.get(), &length); next != LBER_ERROR && next != LBER_DEFAULT;
       next = ber_peek_tag(ber.get(), &length)) {
    if (next == LDAP_TAG_SYNC_COOKIE) {
      if (ber_scanf(ber.get(), "x") == LBER_ERROR) return false;
    } else if (next == LDAP_TAG_REFRESHDONE) {
      if (ber_scanf(ber.get(), "b", &done) == LBER_ERROR) return false;
    } else {
      break;
    }
  }
  return done != 0;
}

}  // namespace

Expected<RootDse, LdapError> Session::root_dse() {
  std::lock_guard lock(mutex_);
  if (root_dse_) return *root_dse_;
  auto root = read_root_dse(*this);
  if (!root) return unexpected(root.error());
  root_dse_ = *root;
  return *root;
}

Expected<Session::EntryAccess, LdapError> Session::probe(const std::string& dn) {
  auto found = search({dn, Scope::kBase, "(objectClass=*)", {"objectClass"}, 0});
  if (!found) {
    if (found.error().result_code == result_code::kNoSuchObject) return EntryAccess::kMissing;
    return unexpected(found.error());
  }
  if (found->empty()) return EntryAccess::kMissing;
  return found->front().values("objectClass") != nullptr ? EntryAccess::kReadable : EntryAccess::kUnreadable;
}

Expected<bool, LdapError> Session::supports_control(std::string_view oid) {
  auto root = root_dse();
  if (!root) return unexpected(root.error());
  return root->supports_control(oid);
}

Expected<void, LdapError> Session::sync_persist(const SyncWatchRequest& request,
                                                const std::function<void(SyncEvent, std::string_view)>& on_event,
                                                const std::function<bool()>& keep_going) {
  LDAP* ld = handle_->ld.get();
  const std::string operation = "sync search (refreshAndPersist)";
  auto control = sync_request_control(ld);
  if (!control) return unexpected(make_error(ld, control.error(), uri_, operation, request.base));
  LDAPControl* server_controls[2] = {control->get(), nullptr};
  char no_attributes[] = "1.1";  // DNs only: the watcher needs to know that, not what, changed
  char* attrs[2] = {no_attributes, nullptr};
  int msgid = 0;
  int rc = ldap_search_ext(ld, request.base.c_str(), internal::to_ldap_scope(request.scope), request.filter.c_str(),
                           attrs, 0, server_controls, nullptr, nullptr, 0, &msgid);
  if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri_, operation, request.base));
  ++round_trips_;

  bool refreshing = true;
  for (;;) {
    if (!keep_going()) {
      ldap_abandon_ext(ld, msgid, nullptr, nullptr);
      return {};
    }
    timeval poll = internal::to_timeval(request.poll_interval);
    LDAPMessage* raw = nullptr;
    const int got = ldap_result(ld, msgid, LDAP_MSG_ONE, &poll, &raw);
    MessagePtr message(raw);
    if (got == 0) continue;  // nothing yet
    if (got < 0) {
      int code = LDAP_SERVER_DOWN;
      ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code);
      return unexpected(make_error(ld, code, uri_, operation, request.base));
    }
    switch (got) {
      case LDAP_RES_SEARCH_ENTRY: {
        if (refreshing) break;  // the initial content: nothing changed
        std::string dn;
        if (char* text = ldap_get_dn(ld, message.get()); text != nullptr) {
          LdapString owned(text);
          dn = text;
        }
        on_event(SyncEvent::kChange, dn);
        break;
      }
      case LDAP_RES_INTERMEDIATE: {
        char* raw_oid = nullptr;
        berval* raw_value = nullptr;
        rc = ldap_parse_intermediate(ld, message.get(), &raw_oid, &raw_value, nullptr, 0);
        LdapString oid(raw_oid);
        BervalPtr value(raw_value);
        if (rc != LDAP_SUCCESS || oid == nullptr || std::string_view(oid.get()) != LDAP_SYNC_INFO || !value) break;
        const ber_tag_t tag = value->bv_len > 0 ? static_cast<unsigned char>(value->bv_val[0]) : 0;
        if (refreshing && ends_refresh(*value)) {
          refreshing = false;
          on_event(SyncEvent::kRefreshDone, "");
        } else if (!refreshing && tag == LDAP_TAG_SYNC_ID_SET) {
          on_event(SyncEvent::kChange, "");  // entries deleted (or gone out of scope), by entryUUID
        }
        break;
      }
      case LDAP_RES_SEARCH_RESULT: {
        int code = LDAP_OTHER;
        LDAPControl** raw_controls = nullptr;
        rc = ldap_parse_result(ld, message.get(), &code, nullptr, nullptr, nullptr, &raw_controls, 0);
        ControlsPtr controls(raw_controls);
        if (rc != LDAP_SUCCESS) code = rc;
        // A persist search only ends with an error (or a refreshOnly fallback: report as refused).
        if (code == LDAP_SUCCESS) code = LDAP_UNAVAILABLE;
        auto error = make_error(ld, code, uri_, operation, request.base);
        error.message += " (the server ended the sync search)";
        return unexpected(std::move(error));
      }
      default:
        break;  // search references and anything else are of no interest here
    }
  }
}


namespace {

std::string to_string(const berval& value) { return std::string(value.bv_val != nullptr ? value.bv_val : "", value.bv_len); }

// syncStateValue ::= SEQUENCE { state ENUMERATED, entryUUID OCTET STRING, cookie OCTET STRING OPTIONAL }
bool parse_sync_state(const berval& value, SyncMessage& out) {
  berval copy = value;
  BerPtr ber(ber_init(&copy));
  if (!ber) return false;
  ber_int_t state = 0;
  berval uuid{0, nullptr};
  if (ber_scanf(ber.get(), "{em", &state, &uuid) == LBER_ERROR) return false;
  switch (state) {
    case LDAP_SYNC_PRESENT: out.state = SyncState::kPresent; break;
    case LDAP_SYNC_ADD: out.state = SyncState::kAdd; break;
    case LDAP_SYNC_MODIFY: out.state = SyncState::kModify; break;
    case LDAP_SYNC_DELETE: out.state = SyncState::kDelete; break;
    default: return false;
  }
  out.uuid = to_string(uuid);
  ber_len_t length = 0;
  if (ber_peek_tag(ber.get(), &length) == LDAP_TAG_SYNC_COOKIE) {
    berval cookie{0, nullptr};
    if (ber_scanf(ber.get(), "m", &cookie) == LBER_ERROR) return false;
    out.cookie = to_string(cookie);
  }
  return true;
}

// Reads an optional cookie, then an optional BOOLEAN (refreshDone or refreshDeletes), inside a
// sequence already opened.
bool scan_cookie_and_flag(BerElement* ber, std::optional<std::string>& cookie, ber_int_t& flag) {
  ber_len_t length = 0;
  if (ber_peek_tag(ber, &length) == LDAP_TAG_SYNC_COOKIE) {
    berval value{0, nullptr};
    if (ber_scanf(ber, "m", &value) == LBER_ERROR) return false;
    cookie = to_string(value);
  }
  if (ber_peek_tag(ber, &length) == LBER_BOOLEAN) {
    if (ber_scanf(ber, "b", &flag) == LBER_ERROR) return false;
  }
  return true;
}

struct BervarrayDeleter {
  void operator()(BerVarray v) const { ber_bvarray_free(v); }
};

// syncInfoValue (RFC 4533 2.5): newcookie, refreshDelete, refreshPresent or syncIdSet. False when
// malformed; `ends_refresh` set for a refreshDelete/refreshPresent with refreshDone TRUE.
bool parse_sync_info(const berval& value, SyncMessage& out, bool& is_message) {
  berval copy = value;
  BerPtr ber(ber_init(&copy));
  if (!ber) return false;
  ber_len_t length = 0;
  const ber_tag_t tag = ber_peek_tag(ber.get(), &length);
  is_message = false;
  switch (tag) {
    case LDAP_TAG_SYNC_NEW_COOKIE: {
      berval cookie{0, nullptr};
      ber_tag_t skipped = 0;
      if (ber_scanf(ber.get(), "tm", &skipped, &cookie) == LBER_ERROR) return false;
      out.kind = SyncMessage::Kind::kCookie;
      out.cookie = to_string(cookie);
      is_message = true;
      return true;
    }
    case LDAP_TAG_SYNC_REFRESH_DELETE:
    case LDAP_TAG_SYNC_REFRESH_PRESENT: {
      if (ber_scanf(ber.get(), "{") == LBER_ERROR) return false;
      ber_int_t done = 1;
      if (!scan_cookie_and_flag(ber.get(), out.cookie, done)) return false;
      out.kind = done != 0 ? SyncMessage::Kind::kRefreshDone : SyncMessage::Kind::kCookie;
      out.present_phase = tag == LDAP_TAG_SYNC_REFRESH_PRESENT;
      is_message = true;
      return true;
    }
    case LDAP_TAG_SYNC_ID_SET: {
      if (ber_scanf(ber.get(), "{") == LBER_ERROR) return false;
      ber_int_t deletes = 0;
      if (!scan_cookie_and_flag(ber.get(), out.cookie, deletes)) return false;
      BerVarray raw = nullptr;
      if (ber_scanf(ber.get(), "[W]", &raw) == LBER_ERROR) return false;
      std::unique_ptr<berval, BervarrayDeleter> uuids(raw);
      for (BerVarray v = raw; v != nullptr && v->bv_val != nullptr; ++v) out.uuids.push_back(to_string(*v));
      out.kind = SyncMessage::Kind::kIdSet;
      out.deletes = deletes != 0;
      is_message = true;
      return true;
    }
    default:
      return true;  // an unknown syncInfo choice: ignored
  }
}

}  // namespace

Expected<int, LdapError> Session::start_sync(const SyncWatchRequest& request, std::string_view cookie) {
  std::lock_guard lock(mutex_);
  LDAP* ld = handle_->ld.get();
  const std::string operation = "sync search (refreshAndPersist)";
  auto control = sync_request_control(ld, cookie);
  if (!control) return unexpected(make_error(ld, control.error(), uri_, operation, request.base));
  LDAPControl* server_controls[2] = {control->get(), nullptr};
  std::vector<std::string> names = request.attributes;
  if (names.empty()) names.push_back("1.1");
  std::vector<char*> attrs;
  for (auto& name : names) attrs.push_back(name.data());
  attrs.push_back(nullptr);
  int msgid = 0;
  const int rc = ldap_search_ext(ld, request.base.c_str(), internal::to_ldap_scope(request.scope),
                                 request.filter.c_str(), attrs.data(), 0, server_controls, nullptr, nullptr, 0, &msgid);
  note_result(rc);
  if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri_, operation, request.base));
  ++round_trips_;
  refreshing_ = true;
  return msgid;
}

Expected<PollResult, LdapError> Session::poll_sync(int msgid, std::size_t max_messages) {
  std::unique_lock lock(mutex_, std::try_to_lock);
  PollResult out;
  if (!lock.owns_lock()) {
    out.busy = true;
    return out;
  }
  LDAP* ld = handle_->ld.get();
  const std::string operation = "sync search (refreshAndPersist)";
  while (out.messages.size() < max_messages) {
    timeval none{0, 0};
    LDAPMessage* raw = nullptr;
    const int got = ldap_result(ld, msgid, LDAP_MSG_ONE, &none, &raw);
    MessagePtr message(raw);
    if (got == 0) return out;
    if (got < 0) {
      int code = LDAP_SERVER_DOWN;
      ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code);
      broken_ = true;
      return unexpected(make_error(ld, code, uri_, operation, ""));
    }
    SyncMessage parsed;
    parsed.refreshing = refreshing_;
    switch (got) {
      case LDAP_RES_SEARCH_ENTRY: {
        parsed.kind = SyncMessage::Kind::kEntry;
        parsed.entry = internal::entry_of(ld, message.get());
        LDAPControl** raw_controls = nullptr;
        ldap_get_entry_controls(ld, message.get(), &raw_controls);
        ControlsPtr controls(raw_controls);
        LDAPControl* state = ldap_control_find(LDAP_CONTROL_SYNC_STATE, raw_controls, nullptr);
        if (state == nullptr || !parse_sync_state(state->ldctl_value, parsed)) {
          auto error = make_error(ld, LDAP_DECODING_ERROR, uri_, operation, parsed.entry.dn);
          error.message += " (an entry without a readable Sync State control)";
          return unexpected(std::move(error));
        }
        out.messages.push_back(std::move(parsed));
        break;
      }
      case LDAP_RES_INTERMEDIATE: {
        char* raw_oid = nullptr;
        berval* raw_value = nullptr;
        const int rc = ldap_parse_intermediate(ld, message.get(), &raw_oid, &raw_value, nullptr, 0);
        LdapString oid(raw_oid);
        BervalPtr value(raw_value);
        if (rc != LDAP_SUCCESS || oid == nullptr || std::string_view(oid.get()) != LDAP_SYNC_INFO || !value) break;
        bool is_message = false;
        if (!parse_sync_info(*value, parsed, is_message)) {
          auto error = make_error(ld, LDAP_DECODING_ERROR, uri_, operation, "");
          error.message += " (a syncInfo message that does not decode)";
          return unexpected(std::move(error));
        }
        if (!is_message) break;
        if (parsed.kind == SyncMessage::Kind::kRefreshDone) refreshing_ = false;
        out.messages.push_back(std::move(parsed));
        break;
      }
      case LDAP_RES_SEARCH_RESULT: {
        int code = LDAP_OTHER;
        LDAPControl** raw_controls = nullptr;
        const int rc = ldap_parse_result(ld, message.get(), &code, nullptr, nullptr, nullptr, &raw_controls, 0);
        ControlsPtr controls(raw_controls);
        if (rc != LDAP_SUCCESS) code = rc;
        if (code == LDAP_SUCCESS) code = LDAP_UNAVAILABLE;  // a persist search only ends in error
        auto error = make_error(ld, code, uri_, operation, "");
        error.message += " (the server ended the sync search)";
        return unexpected(std::move(error));
      }
      default:
        break;
    }
  }
  out.more = true;
  return out;
}

void Session::abandon(int msgid) {
  std::lock_guard lock(mutex_);
  ldap_abandon_ext(handle_->ld.get(), msgid, nullptr, nullptr);
}

}  // namespace ward::ldap
