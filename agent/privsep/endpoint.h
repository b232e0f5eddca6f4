// Calls and notifications over a Channel, both ways at once (the parent calls the child for
// `show sa`, the child calls the parent for policy, keys and SAs). Every message body starts with
// a u64 call id: 0 for a notification, otherwise the caller's id, which the reply (type kReply:
// id, u8 ok, then the answer or the error text) carries back.
//
// One reader thread per endpoint receives everything: replies wake their caller, requests and
// notifications go to the handler on that thread, whose return value (for a request) is sent back.
// A handler must therefore never call() the other side itself (it would wait for a reply that only
// its own thread could read). A handler that would hold the reader (and every other call) for long
// sets `reply_later` and answers `call_id` with reply() when done, from any thread; send, notify,
// call and reply are safe from any thread (one mutex orders what goes onto the channel). When the channel closes (the other process died) or a message is
// malformed, pending calls fail with the reason and `closed` runs once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agent/privsep/channel.h"
#include "common/expected.h"

namespace ward::agent::privsep {

inline constexpr std::uint32_t kReply = 0xffffffffu;

using Body = std::vector<std::uint8_t>;

struct Incoming {
  std::uint32_t type = 0;
  std::span<const std::uint8_t> body;   // after the call id
  OwnedFd fd;
  bool is_call = false;                 // a reply is expected
  std::uint64_t call_id = 0;            // for reply(), when the handler sets reply_later
  bool reply_later = false;             // set by the handler: its return value is not sent
};

class Endpoint {
 public:
  // For a call: the answer's body, or an error sent back as such. Ignored for notifications.
  using Handler = std::function<Expected<Body, std::string>(Incoming& message)>;
  using Closed = std::function<void(const std::string& why)>;

  Endpoint(std::shared_ptr<Channel> channel, Handler handler, Closed closed);
  ~Endpoint();   // shuts the channel down and joins the reader
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  Expected<Body, std::string> call(std::uint32_t type, std::span<const std::uint8_t> body,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Expected<void, std::string> notify(std::uint32_t type, std::span<const std::uint8_t> body, int fd = -1);
  // The answer to a call whose handler set reply_later (any thread; once per call_id).
  Expected<void, std::string> reply(std::uint64_t call_id, const Expected<Body, std::string>& answer);
  bool open() const;

 private:
  struct Pending {
    bool done = false;
    Expected<Body, std::string> result = unexpected(std::string("no reply"));
  };
  void read_loop();
  Expected<void, std::string> send(std::uint32_t type, std::uint64_t id, std::span<const std::uint8_t> body, int fd);
  void close_all(const std::string& why);

  std::shared_ptr<Channel> channel_;
  Handler handler_;
  Closed closed_;
  mutable std::mutex mutex_;
  std::condition_variable replied_;
  std::mutex send_mutex_;
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending_;
  std::uint64_t next_id_ = 1;
  std::optional<std::string> closed_why_;
  std::thread reader_;
};

}  // namespace ward::agent::privsep
