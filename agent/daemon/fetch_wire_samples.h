// Every body that crosses between wardd and its directory fetcher (fetch_wire.h), in a fixed order
// (the first byte of a fetch_wire_fuzz input picks one), with a filled-in value of each: the seeds
// of the fuzz corpus (fetch_wire_corpus_gen) and the round trips of fetch_wire_test.
#pragma once

#include <tuple>

#include "agent/daemon/fetch_wire.h"

namespace ward::agent::daemon::fetchproc::samples {

// Append new bodies at the end: the committed corpus names bodies by their index here.
using Bodies = std::tuple<FetchConfig, FetchRequest, FetchAnswerSize, AnswerPartRequest, FetchAnswer, KeepRequest, WatchStart,
                          WatchChange, LogEvent>;

template <class T>
T sample();

template <>
inline FetchConfig sample<FetchConfig>() {
  FetchConfig config;
  config.uris = {"ldap://dc1.example.test", "ldaps://dc2.example.test:636"};
  config.start_tls = true;
  config.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  config.bind = BindKind::Simple;
  config.bind_dn = "CN=legal-pc1,OU=Legal,DC=example,DC=test";
  const std::string password = "not a real password";
  config.password = driver::crypto::SecureBytes(std::as_bytes(std::span(password.data(), password.size())));
  config.principal = "LEGAL-PC1$@EXAMPLE.TEST";
  config.domain_dn = "DC=example,DC=test";
  config.computer_account = "LEGAL-PC1$";
  config.site_dn = "CN=Paris,CN=Sites,CN=Configuration,DC=example,DC=test";
  config.network_timeout = std::chrono::milliseconds(5000);
  config.operation_timeout = std::chrono::milliseconds(15000);
  return config;
}

template <>
inline FetchRequest sample<FetchRequest>() {
  FetchRequest request;
  request.serial = 7;
  request.addresses = {*IpAddress::parse("10.20.1.5"), *IpAddress::parse("fd00::5")};
  const std::vector<std::byte> ticket(64, std::byte{0x4b});
  request.ticket = driver::crypto::SecureBytes(ticket);
  return request;
}

template <>
inline FetchAnswerSize sample<FetchAnswerSize>() {
  return {7, 4096};
}

template <>
inline AnswerPartRequest sample<AnswerPartRequest>() {
  return {7, 65472};
}

template <>
inline FetchAnswer sample<FetchAnswer>() {
  FetchAnswer answer;
  answer.serial = 7;
  answer.outcome = Outcome::Policy;
  answer.policy_json = R"({"format": "ward-policy/1", "name": "Legal"})";
  answer.source = {"CN=ipsecPolicy{1},CN=IP Security,CN=System,DC=example,DC=test", "CN={2},CN=Policies,CN=System,DC=example,DC=test",
                   "Legal IPsec", "OU=Legal,DC=example,DC=test", "20261206101500Z"};
  answer.report.directory = "Active Directory";
  answer.report.computer_dn = "CN=legal-pc1,OU=Legal,DC=example,DC=test";
  answer.report.site_dn = "CN=Paris,CN=Sites,CN=Configuration,DC=example,DC=test";
  answer.report.site_from = "msDS-SiteName";
  answer.report.gpos = {{"Legal IPsec", "CN={2},CN=Policies,CN=System,DC=example,DC=test", "OU=Legal,DC=example,DC=test", true, ""},
                        {"Lab", "CN={3},CN=Policies,CN=System,DC=example,DC=test", "DC=example,DC=test", false, "disabled"}};
  answer.report.round_trips = 11;
  answer.problems = {{model::Severity::Warning, "'CN=ipsecFilter{4}'", "ipsecData", "unknown flag"}};
  answer.log = {{config::LogLevel::Info, "directory-fetch", {{"uri", "ldap://dc1.example.test"}, {"round_trips", "11"}}}};
  return answer;
}

template <>
inline KeepRequest sample<KeepRequest>() {
  const std::vector<std::byte> ticket(48, std::byte{0x54});
  return KeepRequest{driver::crypto::SecureBytes(ticket)};
}

template <>
inline WatchStart sample<WatchStart>() {
  return {std::chrono::milliseconds(500), std::chrono::milliseconds(2000)};
}

template <>
inline WatchChange sample<WatchChange>() {
  return {WatchReason::Change, {"CN=ipsecFilter{4},CN=IP Security,CN=System,DC=example,DC=test", "OU=Legal,DC=example,DC=test"}, 3};
}

template <>
inline LogEvent sample<LogEvent>() {
  return {config::LogLevel::Info, "change-watch-established", {{"uri", "ldap://dc1.example.test"}, {"resumed", "no"}}};
}

}  // namespace ward::agent::daemon::fetchproc::samples
