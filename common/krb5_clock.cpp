#include "common/krb5_clock.h"

#include <krb5.h>
#include <profile.h>

#include <array>
#include <cstdlib>
#include <ctime>
#include <optional>

namespace ward::krb5_clock {
namespace {

constexpr int kDefaultClockSkewSeconds = 300;  // MIT krb5's clockskew default

std::string utc_text(std::time_t when) {
  std::tm parts{};
  ::gmtime_r(&when, &parts);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text.data();
}

std::string krb5_text(krb5_context context, krb5_error_code code) {
  const char* text = krb5_get_error_message(context, code);
  std::string out = text != nullptr ? text : "krb5 error " + std::to_string(code);
  krb5_free_error_message(context, text);
  return out;
}

int allowed_skew(krb5_context context) {
  profile_t profile = nullptr;
  if (krb5_get_profile(context, &profile) != 0) return kDefaultClockSkewSeconds;
  int seconds = kDefaultClockSkewSeconds;
  if (profile_get_integer(profile, "libdefaults", "clockskew", nullptr, kDefaultClockSkewSeconds, &seconds) != 0) {
    seconds = kDefaultClockSkewSeconds;
  }
  profile_release(profile);
  return seconds;
}

struct KdcTime {
  std::optional<std::time_t> kdc;  // the KDC's clock when it answered
  std::time_t ours = 0;            // ours at the same moment
  std::string why_not;             // when kdc is empty
};

// krb5_init_creds rather than krb5_get_init_creds_keytab: on an error it still hands over the
// KDC's KRB-ERROR, whose stime is the KDC's clock.
KdcTime ask_kdc(krb5_context context, const std::string& keytab, const std::string& principal) {
  KdcTime out;
  krb5_principal client = nullptr;
  if (auto code = krb5_parse_name(context, principal.c_str(), &client); code != 0) {
    out.why_not = krb5_text(context, code);
    return out;
  }
  krb5_keytab kt = nullptr;
  if (auto code = krb5_kt_resolve(context, keytab.c_str(), &kt); code != 0) {
    out.why_not = krb5_text(context, code);
    krb5_free_principal(context, client);
    return out;
  }
  krb5_init_creds_context creds_context = nullptr;
  krb5_error_code code = krb5_init_creds_init(context, client, nullptr, nullptr, 0, nullptr, &creds_context);
  if (code == 0) code = krb5_init_creds_set_keytab(context, creds_context, kt);
  if (code == 0) code = krb5_init_creds_get(context, creds_context);
  out.ours = std::time(nullptr);
  if (code == 0) {
    krb5_creds creds{};
    if (krb5_init_creds_get_creds(context, creds_context, &creds) == 0) {
      out.kdc = static_cast<std::time_t>(creds.times.authtime);
      krb5_free_cred_contents(context, &creds);
    }
  } else if (creds_context != nullptr) {
    krb5_error* error = nullptr;
    if (krb5_init_creds_get_error(context, creds_context, &error) == 0 && error != nullptr) {
      out.kdc = static_cast<std::time_t>(error->stime);
      krb5_free_error(context, error);
    }
  }
  if (!out.kdc) {
    out.why_not = code == KRB5_KDCREP_SKEW
                      ? "its reply was refused as skewed before its time could be read (kdc_timesync = 0)"
                      : krb5_text(context, code);
  }
  if (creds_context != nullptr) krb5_init_creds_free(context, creds_context);
  krb5_kt_close(context, kt);
  krb5_free_principal(context, client);
  return out;
}

}  // namespace

bool is_clock_error(std::int64_t code) noexcept {
  return code == KRB5KRB_AP_ERR_SKEW || code == KRB5KRB_AP_ERR_TKT_NYV || code == KRB5_KDCREP_SKEW;
}

bool mentions_clock_error(const std::string& text) noexcept {
  for (const char* words : {"Clock skew too great", "Ticket not yet valid"}) {
    if (text.find(words) != std::string::npos) return true;
  }
  return false;
}

namespace {

struct Skew {
  std::string text;
  bool beyond_allowance = false;  // the KDC's time is known and differs from ours by more than allowed
};

Skew measure(const std::string& keytab, const std::string& principal) {
  krb5_context context = nullptr;
  if (krb5_init_context(&context) != 0) {
    return {"clock skew: this host's clock reads " + utc_text(std::time(nullptr)) +
                "; check it against the domain's time (NTP)",
            false};
  }
  const int allowed = allowed_skew(context);
  const KdcTime time = ask_kdc(context, keytab, principal);
  krb5_free_context(context);
  const std::string ours = "this host's clock reads " + utc_text(time.ours);
  const std::string allowance = "Kerberos allows " + std::to_string(allowed) + " s";
  if (!time.kdc) {
    return {"clock skew: " + ours + "; the KDC's time is unknown (" + time.why_not + "); " + allowance +
                ": set this host's clock from the domain's time (NTP)",
            false};
  }
  const long long offset = static_cast<long long>(*time.kdc) - static_cast<long long>(time.ours);
  const std::string both = ours + ", the KDC's " + utc_text(*time.kdc);
  if (std::llabs(offset) <= allowed) {
    return {"clock skew: " + both + " (they agree; " + allowance +
                "): the peer's clock is off, set it from the domain's time (NTP)",
            false};
  }
  return {"clock skew: " + both + " (" + std::to_string(std::llabs(offset)) + " s " +
              (offset > 0 ? "ahead of" : "behind") + " ours; " + allowance +
              "): set this host's clock, or the KDC's, from the domain's time (NTP)",
          true};
}

}  // namespace

std::string describe_clock_skew(const std::string& keytab, const std::string& principal) {
  return measure(keytab, principal).text;
}

std::optional<std::string> kdc_clock_skew(const std::string& keytab, const std::string& principal) {
  auto skew = measure(keytab, principal);
  if (!skew.beyond_allowance) return std::nullopt;
  return std::move(skew.text);
}

}  // namespace ward::krb5_clock
