// The IKEv2 responder's COOKIE (RFC 7296 2.6) in the engine (engine.h): from
// IkeServiceOptions::ikev2_cookie_threshold half-open responder IKE SAs on, respond_ikev2 asks
// this before it spends a DH: an IKE_SA_INIT without a COOKIE is answered with one
// (ikev2_cookies.h) and forgotten; one that brings a good COOKIE back goes on; a wrong or stale
// one is dropped. Nothing is kept in any case.
#include "ike/service/engine.h"

namespace ward::ike::service {

bool IkeService::Engine::ikev2_cookie_passed(const Endpoint& from, std::span<const std::byte> bytes) {
  const auto request = read_init_request(bytes);
  if (!request) {
    ++counters_.malformed;
    if (worth_logging(counters_.malformed)) log("IKE: dropped an IKE_SA_INIT from " + from.address.to_string() + ": it does not parse");
    return false;
  }
  if (request->cookie) {
    if (ikev2_cookies_.verify(request->ni, from.address, request->spi_i, *request->cookie)) {
      ++counters_.ikev2_cookies_accepted;
      return true;
    }
    ++counters_.ikev2_cookies_rejected;
    if (worth_logging(counters_.ikev2_cookies_rejected)) {
      log("IKE: dropped an IKE_SA_INIT from " + from.address.to_string() + ": its " + std::to_string(request->cookie->size()) +
          "-byte COOKIE is not one of ours or is stale");
    }
    return false;
  }
  auto reply = cookie_reply(request->spi_i, ikev2_cookies_.make(request->ni, from.address, request->spi_i));
  if (!reply) return false;
  ++counters_.ikev2_cookies_sent;
  if (worth_logging(counters_.ikev2_cookies_sent)) {
    log("IKE: " + std::to_string(options_.ikev2_cookie_threshold) + " or more half-open IKEv2 SAs: IKE_SA_INIT from " +
        from.address.to_string() + " answered with a COOKIE");
  }
  send(from, *reply);
  return false;
}

}  // namespace ward::ike::service
