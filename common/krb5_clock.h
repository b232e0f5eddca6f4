// Clock skew, said as such. Kerberos refuses tickets and authenticators whose times differ from the
// reader's clock by more than `clockskew` (krb5.conf, 300 s by default); the library's words for it
// ("Ticket not yet valid", "Clock skew too great in KDC reply") hide that the fix is the host's
// clock. These helpers recognise those errors and ask the KDC for its time, so the message can give
// both clocks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ward::krb5_clock {

// KRB5KRB_AP_ERR_SKEW, KRB5KRB_AP_ERR_TKT_NYV, KRB5_KDCREP_SKEW: the codes that mean two clocks
// disagree (as GSS-API minor status or krb5_error_code).
bool is_clock_error(std::int64_t code) noexcept;

// The same recognition on the library's text (a SASL/GSSAPI bind only hands over the text).
bool mentions_clock_error(const std::string& text) noexcept;

// One AS exchange with `principal`'s key from `keytab` (the realm's KDC, as krb5.conf finds it):
// the KDC's time is its reply's authtime, or its error's stime. Returns e.g.
//   "clock skew: this host's clock reads 2026-12-06 00:20:01 UTC, the KDC's 2026-12-06 01:20:01 UTC
//    (3600 s ahead of ours; Kerberos allows 300 s): set this host's clock from the domain's time (NTP)"
// or, when the KDC agrees with us, that the peer's clock is the one that is off; when the KDC's
// time cannot be had, our time and why.
std::string describe_clock_skew(const std::string& keytab, const std::string& principal);

// For failures whose reason Kerberos does not say (a server's bare "GSSAPI Failure:
// gss_accept_sec_context"): the same AS exchange, and describe_clock_skew's text only when the
// KDC's clock is known to differ from ours by more than the allowed skew.
std::optional<std::string> kdc_clock_skew(const std::string& keytab, const std::string& principal);

}  // namespace ward::krb5_clock
