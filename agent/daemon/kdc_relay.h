// wardd's half of its key process's way to the KDC (key_wire.h kKdcSend): the key process, which
// has no network socket, hands over each KDC message libkrb5 made for it; wardd sends it to the
// realm's KDC as libkrb5 would (the KDCs of krb5.conf or DNS, UDP then TCP) and returns the reply.
//
// libkrb5 has no public call that sends a given message to a realm's KDC, so wardd starts an AS
// exchange of its own in that realm with a context whose pre-send hook substitutes the key
// process's message for its own, and whose post-receive hook keeps the reply and ends the exchange.
// A reply saying the message was too large for UDP is let through: libkrb5 then sends again over
// TCP (the substitute again) as for any AS exchange. wardd never sees a key: the messages are
// encrypted with keys the key process holds.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"

namespace ward::agent::daemon {

Expected<std::vector<std::byte>, std::string> send_to_kdc(const std::string& realm, std::span<const std::byte> message);

}  // namespace ward::agent::daemon
