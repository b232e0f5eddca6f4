// wardd's half of Kerberos for its IKE process: the GSS-API exchanges (ike/auth/kerberos_provider:
// the keytab, the per-exchange MEMORY ccache, the security context) stay in wardd (with a key
// process they are forwarded there: agent/daemon/key_kerberos.h), and the child
// drives them by exchange id (kGss* in messages.h; the child's half is remote_kerberos.h). The
// child sends the peer's tokens and HASH payload and gets ours back; it never sees the keytab, a
// ticket or the session key. Open exchanges are bounded (a taken-over child cannot make wardd
// hold unbounded GSS state) and all dropped when the child dies.
//
// The steps may wait for the KDC (a TGT, a service ticket: up to libkrb5's timeouts), so they run
// on a worker thread of their own, in the order they came, and are answered when done
// (Endpoint::reply): the endpoint's reader stays free for the child's other calls (SKEYID,
// signatures, SAs), which a slow KDC would otherwise hold for as long. The queue is bounded too,
// and a step that waited longer than the child waits for its answer is answered without running.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agent/privsep/endpoint.h"
#include "common/expected.h"
#include "ike/auth/auth_provider.h"

namespace ward::agent::ikeproc {

// As many as the responder's embryonic table holds: one per main mode under way.
inline constexpr std::size_t kMaxGssExchanges = 4096;
// Steps waiting for the worker: each may take a KDC round trip, and the child waits for one at
// most the Endpoint's 5 s, so a deeper queue would only hold answers nobody waits for.
inline constexpr std::size_t kMaxQueuedGssSteps = 64;
// A queued step older than this is answered with an error, not run: its caller has given up.
inline constexpr std::chrono::milliseconds kGssStepDeadline = std::chrono::seconds(5);

class GssService {
 public:
  // Told why, each time a bound refuses an exchange or a step (wardd logs it).
  using Refused = std::function<void(const std::string& why)>;
  // Told the type and the error of each queued step that failed (its answer is that error).
  using Failed = std::function<void(std::uint32_t type, const std::string& why)>;

  explicit GssService(std::size_t max_exchanges = kMaxGssExchanges, std::size_t max_queued = kMaxQueuedGssSteps, Refused refused = {},
                      Failed failed = {});
  ~GssService();   // queued steps are dropped (unanswered: their child's channel is gone)
  GssService(const GssService&) = delete;
  GssService& operator=(const GssService&) = delete;

  // The Kerberos provider the policy's rules use (all are alike: this host's keytab and
  // principals); null until a rule with Kerberos was asked for.
  void use(std::shared_ptr<const ike::auth::AuthProvider> kerberos);
  // For an Endpoint's handler: a kGss* call is queued for the worker (`message.reply_later` set;
  // the answer goes to `endpoint` when the step is done) and kGssClose done at once; either way an
  // empty body. The queue full: the refusal, at once. Nullopt for any other type.
  std::optional<Expected<privsep::Body, std::string>> dispatch(privsep::Incoming& message, std::weak_ptr<privsep::Endpoint> endpoint);
  // A kGss* message (call or note) done on the calling thread; nullopt for any other type.
  std::optional<Expected<privsep::Body, std::string>> handle(std::uint32_t type, std::span<const std::uint8_t> body);
  void clear();   // the child died: its exchanges and queued steps with it
  std::size_t open_exchanges() const;
  std::size_t queued_steps() const;   // waiting for the worker (not the one it runs)

 private:
  struct Step {
    std::uint32_t type = 0;
    privsep::Body body;
    std::uint64_t call_id = 0;
    std::weak_ptr<privsep::Endpoint> endpoint;
    std::chrono::steady_clock::time_point queued;
  };
  Expected<privsep::Body, std::string> handle_known(std::uint32_t type, std::span<const std::uint8_t> body);
  std::shared_ptr<ike::auth::AuthProvider> exchange(std::uint32_t id) const;
  void work();

  const std::size_t max_exchanges_;
  const std::size_t max_queued_;
  const Refused refused_;
  const Failed failed_;
  mutable std::mutex mutex_;
  std::shared_ptr<const ike::auth::AuthProvider> kerberos_;
  std::map<std::uint32_t, std::shared_ptr<ike::auth::AuthProvider>> exchanges_;
  std::uint32_t next_ = 1;
  mutable std::mutex queue_mutex_;
  std::condition_variable queued_;
  std::deque<Step> queue_;
  bool stopping_ = false;
  std::thread worker_;   // last: started once the rest is built
};

}  // namespace ward::agent::ikeproc
