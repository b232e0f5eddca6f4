// For fetch_process_test: a directory fetcher that was taken over (or is broken). Started by
// FetchProcess in place of `wardd --privsep-child fetch` (same arguments), it enters the same
// sandbox and answers kFetch as WARD_HOSTILE_FETCH (set by the test) says: a comma-separated list
// of modes, the n-th for wardd's n-th request (its serial, which counts on across restarts), the
// last for the rest:
//   good-big       an honest answer whose policy JSON spans several messages: the policy in
//                  WARD_HOSTILE_POLICY_FILE (read before the sandbox) with a 200 KB description
//   garbage        the announced number of bytes, none of them a FetchAnswer
//   oversize       announces an answer larger than wardd accepts
//   overrun        a part longer than the size it announced
//   wrong-serial   answers another request
//   bad-policy     a well-formed answer whose policy JSON is not a policy
//   forged-event   an honest "not assigned" answer with wardd's own policy-applied event in its log
//   hang           never answers
//   crash          aborts on kFetch
// and at kWatch (the change watch) as WARD_HOSTILE_WATCH says:
//   flood          a forged policy-applied event, then 1,000 change notes and 200 watch events
//   garbage        a change note that is no WatchChange
//   too-many-dns   a change note naming kMaxWatchDns + 1 DNs
//   hang-keep      never answers kKeep (nor anything after it)
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "agent/daemon/fetch_wire.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/sandbox.h"
#include "agent/privsep/supervisor.h"
#include "directory/model/policy_json.h"

namespace {

using namespace ward;
using namespace ward::agent::daemon::fetchproc;
using ward::agent::privsep::Body;
using ward::agent::privsep::Endpoint;
using ward::agent::privsep::Incoming;

std::string mode(std::uint64_t serial) {
  const char* value = std::getenv("WARD_HOSTILE_FETCH");
  std::string modes = value != nullptr ? value : "";
  for (std::uint64_t n = 1; n < serial; ++n) {
    const auto comma = modes.find(',');
    if (comma == std::string::npos) break;
    modes.erase(0, comma + 1);
  }
  return modes.substr(0, modes.find(','));
}

Body answer_for(std::uint64_t serial, const std::string& how, const model::Policy& honest) {
  FetchAnswer answer;
  answer.serial = serial;
  if (how == "forged-event") {
    answer.outcome = Outcome::NotAssigned;
    answer.message = "no IPsec policy assigned to CN=hostile";
    answer.log.push_back({agent::config::LogLevel::Info, "policy-applied", {{"policy", "forged"}}});
    answer.log.push_back({agent::config::LogLevel::Info, "directory-fetch", {{"uri", "ldap://hostile"}}});
    return ward::agent::ikeproc::encode(answer);
  }
  answer.outcome = Outcome::Policy;
  model::Policy policy = honest;
  policy.name = "Policy from the fetcher";
  policy.description = std::string(200 * 1024, 'd');
  answer.policy_json = how == "bad-policy" ? std::string(R"({"format": "ward-policy/1", "rules": 7})") : model::policy_to_json(policy);
  answer.source.policy_dn = "CN=ipsecPolicy{hostile}";
  return ward::agent::ikeproc::encode(answer);
}

void note(const agent::privsep::Channel& channel, std::uint32_t type, const Body& body) {
  Body framed(sizeof(std::uint64_t), 0);   // call id 0: a notification
  framed.insert(framed.end(), body.begin(), body.end());
  (void)channel.send(type, framed);
}

void misbehave_at_watch(const agent::privsep::Channel& channel) {
  const char* value = std::getenv("WARD_HOSTILE_WATCH");
  const std::string how = value != nullptr ? value : "";
  using ward::agent::ikeproc::encode;
  if (how == "flood") {
    note(channel, kWatchLog, encode(LogEvent{agent::config::LogLevel::Info, "policy-applied", {{"policy", "forged"}}}));
    WatchChange change{WatchReason::Change, {"OU=Legal,DC=example,DC=test"}, 0};
    for (int i = 0; i < 1000; ++i) note(channel, kWatchChange, encode(change));
    for (int i = 0; i < 200; ++i) {
      note(channel, kWatchLog, encode(LogEvent{agent::config::LogLevel::Warning, "change-watch-lost", {{"n", std::to_string(i)}}}));
    }
  } else if (how == "garbage") {
    note(channel, kWatchChange, Body(100, 0xff));
  } else if (how == "too-many-dns") {
    WatchChange change;
    for (std::size_t i = 0; i <= kMaxWatchDns; ++i) change.dns.push_back("CN=n" + std::to_string(i) + ",DC=example,DC=test");
    note(channel, kWatchChange, encode(change));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  auto identity = agent::privsep::identity_of(argv[4]);
  auto channel = std::make_shared<agent::privsep::Channel>(agent::privsep::OwnedFd(agent::privsep::kChildChannelFd));
  model::Policy honest;
  if (const char* file = std::getenv("WARD_HOSTILE_POLICY_FILE"); file != nullptr) {
    std::ifstream in(file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = model::policy_from_json(text);
    if (!parsed) return 1;
    honest = std::move(*parsed);
  }
  if (!identity || !agent::privsep::enter_sandbox({*identity, agent::privsep::NetworkSockets::Internet})) return 1;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::string how;
  Body answer;
  std::uint64_t serial = 0;
  Endpoint parent(
      channel,
      [&](Incoming& m) -> Expected<Body, std::string> {
        if (m.type == kFetch) {
          auto request = ward::agent::ikeproc::decode<FetchRequest>(m.body);
          if (!request) return unexpected(request.error());
          how = mode(request->serial);
          if (how == "crash") std::abort();
          if (how == "hang") {
            for (;;) pause();
          }
          serial = request->serial;
          answer = answer_for(serial, how, honest);
          FetchAnswerSize size{serial, static_cast<std::uint32_t>(answer.size())};
          if (how == "garbage") {
            answer.assign(100, 0xff);
            size.size = 100;
          }
          if (how == "oversize") size.size = kMaxAnswerBytes + 1;
          if (how == "overrun") size.size = 100;
          if (how == "wrong-serial") size.serial = serial + 1;
          return ward::agent::ikeproc::encode(size);
        }
        if (m.type == kKeep) {
          const char* watch = std::getenv("WARD_HOSTILE_WATCH");
          if (watch != nullptr && std::string(watch) == "hang-keep") {
            for (;;) pause();
          }
          return Body{};
        }
        if (m.type == kWatch) {
          misbehave_at_watch(*channel);
          return Body{};
        }
        if (m.type == kAnswerPart) {
          auto part = ward::agent::ikeproc::decode<AnswerPartRequest>(m.body);
          if (!part || part->offset > answer.size()) return unexpected(std::string("bad part"));
          if (how == "overrun") return Body(answer.begin(), answer.begin() + 200);   // 100 announced
          const auto end = std::min(answer.size(), std::size_t{part->offset} + kAnswerPartBytes);
          return Body(answer.begin() + part->offset, answer.begin() + static_cast<std::ptrdiff_t>(end));
        }
        return Body{};
      },
      [](const std::string&) { kill(getpid(), SIGTERM); });
  int signal = 0;
  sigwait(&stop, &signal);
  std::_Exit(0);
}
