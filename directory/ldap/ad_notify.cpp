// Session::notify_persist: Active Directory's change notification (LDAP_SERVER_NOTIFICATION_OID).
// Every search of the request goes out at once on this connection; AD answers a search it refuses
// at once (a filter other than (objectClass=*), a subtree below a naming context's head, more
// than MaxNotificationPerConn), and otherwise sends nothing until an object in scope changes,
// then one entry per change. The searches never end by themselves.
#include <ldap.h>

#include "directory/ldap/session_handle.h"

namespace ward::ldap {

using internal::ControlPtr;
using internal::ControlsPtr;
using internal::make_error;
using internal::MessagePtr;

Expected<void, LdapError> Session::notify_persist(const NotifyWatchRequest& request,
                                                  const std::function<void(const Entry&)>& on_change,
                                                  const std::function<void()>& on_established,
                                                  const std::function<bool()>& keep_going) {
  LDAP* ld = handle_->ld.get();
  const std::string operation = "change notification search";
  LDAPControl* raw_control = nullptr;
  // Critical and without a value: a server that does not know it must refuse, not run a plain search.
  int rc = ldap_control_create(kAdNotificationControlOid, 1, nullptr, 0, &raw_control);
  if (rc != LDAP_SUCCESS) return unexpected(make_error(ld, rc, uri_, operation, ""));
  ControlPtr control(raw_control);
  LDAPControl* server_controls[2] = {control.get(), nullptr};
  std::vector<std::string> attribute_copies = request.attributes;
  std::vector<char*> attributes;
  for (auto& a : attribute_copies) attributes.push_back(a.data());
  attributes.push_back(nullptr);

  std::vector<int> msgids;
  const auto abandon_all = [&] {
    for (int id : msgids) ldap_abandon_ext(ld, id, nullptr, nullptr);
  };
  for (const auto& watch : request.watches) {
    int msgid = 0;
    rc = ldap_search_ext(ld, watch.base.c_str(), internal::to_ldap_scope(watch.scope), "(objectClass=*)",
                         attributes.data(), 0, server_controls, nullptr, nullptr, 0, &msgid);
    if (rc != LDAP_SUCCESS) {
      abandon_all();
      return unexpected(make_error(ld, rc, uri_, operation, watch.base));
    }
    ++round_trips_;
    msgids.push_back(msgid);
  }
  const auto base_of = [&](int msgid) -> std::string {
    for (std::size_t i = 0; i < msgids.size(); ++i) {
      if (msgids[i] == msgid) return request.watches[i].base;
    }
    return "";
  };

  bool established = false;
  for (;;) {
    if (!keep_going()) {
      abandon_all();
      return {};
    }
    timeval poll = internal::to_timeval(request.poll_interval);
    LDAPMessage* raw = nullptr;
    const int got = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &poll, &raw);
    MessagePtr message(raw);
    if (got == 0) {
      // A refusal comes at once; a poll interval of silence means every search was accepted.
      if (!established) {
        established = true;
        on_established();
      }
      continue;
    }
    if (got < 0) {
      int code = LDAP_SERVER_DOWN;
      ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code);
      return unexpected(make_error(ld, code, uri_, operation, ""));
    }
    switch (got) {
      case LDAP_RES_SEARCH_ENTRY:
        on_change(internal::entry_of(ld, message.get()));
        break;
      case LDAP_RES_SEARCH_RESULT: {
        const int msgid = ldap_msgid(message.get());
        int code = LDAP_OTHER;
        LDAPControl** raw_controls = nullptr;
        rc = ldap_parse_result(ld, message.get(), &code, nullptr, nullptr, nullptr, &raw_controls, 0);
        ControlsPtr controls(raw_controls);
        if (rc != LDAP_SUCCESS) code = rc;
        if (code == LDAP_SUCCESS) code = LDAP_UNAVAILABLE;  // a notification search only ends in error
        auto error = make_error(ld, code, uri_, operation, base_of(msgid));
        error.message += " (the server ended the notification search)";
        abandon_all();
        return unexpected(std::move(error));
      }
      default:
        break;
    }
  }
}

}  // namespace ward::ldap
