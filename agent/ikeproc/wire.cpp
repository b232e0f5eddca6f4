#include "agent/ikeproc/wire.h"

#include <limits>

namespace ward::agent::ikeproc {

using driver::crypto::Cipher;
using driver::crypto::Direction;
using driver::crypto::Integrity;
using driver::crypto::Mode;
using driver::crypto::SecurityProtocol;

void Decoder::fail(const char* field, const std::string& why, std::optional<std::size_t> at) {
  if (error_.empty()) error_ = what_ + ": " + field + " at byte " + std::to_string(at.value_or(position_)) + ": " + why;
}

void Decoder::raw(void* p, std::size_t n, const char* field) {
  if (!ok() || n == 0) return;
  if (n > in_.size() - position_) {
    fail(field, "needs " + std::to_string(n) + " bytes, " + std::to_string(in_.size() - position_) + " left");
    return;
  }
  std::memcpy(p, in_.data() + position_, n);
  position_ += n;
}

bool Decoder::boolean(const char* field) {
  const auto v = u8(field);
  if (v > 1) fail(field, "not a boolean");
  return v == 1;
}

std::vector<std::byte> Decoder::bytes(const char* field) {
  const auto n = count(field, 1);
  std::vector<std::byte> out(ok() ? n : 0);
  raw(out.data(), out.size(), field);
  return out;
}

std::string Decoder::text(const char* field) {
  const auto b = bytes(field);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::size_t Decoder::count(const char* field, std::size_t min_size) {
  const auto at = position_;
  const auto n = u32(field);
  if (ok() && static_cast<std::uint64_t>(n) * min_size > in_.size() - position_) {
    fail(field, "count " + std::to_string(n) + " exceeds the body", at);
  }
  return ok() ? n : 0;
}

// ---- addresses, selectors -----------------------------------------------------------------------

void encode(Encoder& e, const IpAddress& a) {
  e.u8(a.family() == IpFamily::V4 ? 4 : 6);
  e.raw(a.bytes().data(), a.bytes().size());
}

IpAddress decode_address(Decoder& d, const char* field) {
  const auto family = d.u8(field);   // 4 or 6, then 16 bytes
  std::array<std::uint8_t, 16> b{};
  d.raw(b.data(), b.size(), field);
  if (family == 4) return IpAddress::v4(static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
                                        static_cast<std::uint32_t>(b[2]) << 8 | b[3]);
  if (family != 6) d.fail(field, "address family " + std::to_string(family));
  return IpAddress::v6(b);
}

namespace {

void encode_crypto_address(Encoder& e, const driver::crypto::IpAddress& a) {
  e.u8(a.version == driver::crypto::IpVersion::V4 ? 4 : 6);
  e.raw(a.bytes.data(), a.bytes.size());
}

driver::crypto::IpAddress decode_crypto_address(Decoder& d, const char* field) {
  driver::crypto::IpAddress a;
  const auto version = d.u8(field);
  if (version != 4 && version != 6) d.fail(field, "IP version " + std::to_string(version));
  a.version = version == 4 ? driver::crypto::IpVersion::V4 : driver::crypto::IpVersion::V6;
  d.raw(a.bytes.data(), a.bytes.size(), field);
  return a;
}

}  // namespace

void encode(Encoder& e, const ike::sa::TrafficSelector& ts) {
  encode(e, ts.prefix.address());
  e.u8(static_cast<std::uint8_t>(ts.prefix.length()));
  e.u8(ts.protocol);
  e.u16(ts.port);
}

ike::sa::TrafficSelector decode_selector(Decoder& d) {
  ike::sa::TrafficSelector ts;
  const auto address = decode_address(d, "selector address");
  const auto length = d.u8("selector prefix length");
  if (d.ok()) {
    auto prefix = IpPrefix::make(address, length);
    if (!prefix) d.fail("selector", "not a prefix: " + address.to_string() + "/" + std::to_string(length));
    else ts.prefix = *prefix;
  }
  ts.protocol = d.u8("selector protocol");
  ts.port = d.u16("selector port");
  return ts;
}

// ---- dataplane ----------------------------------------------------------------------------------

void encode(Encoder& e, const driver::Acquire& a) {
  e.u32(a.filter_id);
  encode(e, a.peer);
  encode(e, a.source);
  encode(e, a.destination);
  e.u8(a.protocol);
  e.u16(a.source_port);
  e.u16(a.destination_port);
}

Expected<driver::Acquire, std::string> decode_acquire(std::span<const std::uint8_t> body) {
  Decoder d(body, "acquire");
  driver::Acquire a;
  a.filter_id = d.u32("filter id");
  a.peer = decode_address(d, "peer");
  a.source = decode_address(d, "source");
  a.destination = decode_address(d, "destination");
  a.protocol = d.u8("protocol");
  a.source_port = d.u16("source port");
  a.destination_port = d.u16("destination port");
  return d.finish(a);
}

void encode(Encoder& e, const driver::SaExpiry& x) {
  e.u32(x.spi);
  e.enumeration(x.direction);
  e.enumeration(x.kind);
  e.u32(x.filter_id);
  encode(e, x.peer);
}

Expected<driver::SaExpiry, std::string> decode_expiry(std::span<const std::uint8_t> body) {
  Decoder d(body, "expiry");
  driver::SaExpiry x;
  x.spi = d.u32("spi");
  x.direction = d.enumeration("direction", Direction::Outbound);
  x.kind = d.enumeration("kind", driver::ExpiryKind::Hard);
  x.filter_id = d.u32("filter id");
  x.peer = decode_address(d, "peer");
  return d.finish(x);
}

namespace {

void encode_params(Encoder& e, const driver::crypto::SaParams& p) {
  e.enumeration(p.protocol);
  e.u32(p.spi);
  e.enumeration(p.direction);
  e.enumeration(p.mode);
  e.boolean(p.tunnel.has_value());
  if (p.tunnel) {
    encode_crypto_address(e, p.tunnel->local);
    encode_crypto_address(e, p.tunnel->remote);
  }
  e.enumeration(p.cipher);
  e.enumeration(p.integrity);
  e.bytes(p.encryption_key.reveal());
  e.bytes(p.integrity_key.reveal());
  e.boolean(p.extended_sequence_numbers);
  e.u32(p.replay_window);
  e.boolean(p.udp_encapsulation.has_value());
  if (p.udp_encapsulation) {
    e.u16(p.udp_encapsulation->local_port);
    e.u16(p.udp_encapsulation->remote_port);
  }
  e.boolean(p.allow_legacy);
}

driver::crypto::SaParams decode_params(Decoder& d) {
  driver::crypto::SaParams p;
  p.protocol = d.enumeration("protocol", SecurityProtocol::Ah);
  p.spi = d.u32("spi");
  p.direction = d.enumeration("direction", Direction::Outbound);
  p.mode = d.enumeration("mode", Mode::Tunnel);
  if (d.boolean("has tunnel")) {
    driver::crypto::TunnelEndpoints t;
    t.local = decode_crypto_address(d, "tunnel local");
    t.remote = decode_crypto_address(d, "tunnel remote");
    p.tunnel = t;
  }
  p.cipher = d.enumeration("cipher", Cipher::TripleDesCbc);
  p.integrity = d.enumeration("integrity", Integrity::HmacMd5_96);
  p.encryption_key = driver::crypto::SecureBytes(d.bytes("encryption key"));
  p.integrity_key = driver::crypto::SecureBytes(d.bytes("integrity key"));
  p.extended_sequence_numbers = d.boolean("esn");
  p.replay_window = d.u32("replay window");
  if (d.boolean("has udp encapsulation")) {
    driver::crypto::UdpEncapsulation u;
    u.local_port = d.u16("udp local port");
    u.remote_port = d.u16("udp remote port");
    p.udp_encapsulation = u;
  }
  p.allow_legacy = d.boolean("allow legacy");
  return p;
}

}  // namespace

void encode(Encoder& e, const driver::DynamicSelector& s) {
  encode(e, s.local);
  encode(e, s.remote);
  e.u8(s.protocol);
  e.u16(s.local_port);
  e.u16(s.remote_port);
}

driver::DynamicSelector decode_dynamic_selector(Decoder& d) {
  driver::DynamicSelector s;
  s.local = decode_address(d, "dynamic local");
  s.remote = decode_address(d, "dynamic remote");
  s.protocol = d.u8("dynamic protocol");
  s.local_port = d.u16("dynamic local port");
  s.remote_port = d.u16("dynamic remote port");
  return s;
}

void encode(Encoder& e, const driver::SoftAssociation& a) {
  e.u32(a.filter_id);
  encode(e, a.peer);
  e.u64(static_cast<std::uint64_t>(a.idle_lifetime.count()));
}

Expected<driver::SoftAssociation, std::string> decode_soft_association(std::span<const std::uint8_t> body) {
  Decoder d(body, "soft association");
  driver::SoftAssociation a;
  a.filter_id = d.u32("filter id");
  a.peer = decode_address(d, "peer");
  a.idle_lifetime = std::chrono::seconds(static_cast<std::int64_t>(d.u64("idle lifetime")));
  return d.finish(std::move(a));
}

void encode(Encoder& e, const driver::SaInstall& sa) {
  encode_params(e, sa.params);
  e.u32(sa.filter_id);
  encode(e, sa.peer);
  e.u64(static_cast<std::uint64_t>(sa.lifetime.soft_time.count()));
  e.u64(static_cast<std::uint64_t>(sa.lifetime.hard_time.count()));
  e.u64(sa.lifetime.soft_bytes);
  e.u64(sa.lifetime.hard_bytes);
  e.boolean(sa.bundled_ah.has_value());
  if (sa.bundled_ah) encode_params(e, *sa.bundled_ah);
  e.boolean(sa.dynamic.has_value());
  if (sa.dynamic) encode(e, *sa.dynamic);
}

Expected<driver::SaInstall, std::string> decode_sa_install(std::span<const std::uint8_t> body) {
  Decoder d(body, "SA install");
  driver::SaInstall sa;
  sa.params = decode_params(d);
  sa.filter_id = d.u32("filter id");
  sa.peer = decode_address(d, "peer");
  sa.lifetime.soft_time = std::chrono::seconds(static_cast<std::int64_t>(d.u64("soft time")));
  sa.lifetime.hard_time = std::chrono::seconds(static_cast<std::int64_t>(d.u64("hard time")));
  sa.lifetime.soft_bytes = d.u64("soft bytes");
  sa.lifetime.hard_bytes = d.u64("hard bytes");
  if (d.boolean("has bundled AH")) sa.bundled_ah = decode_params(d);
  if (d.boolean("has dynamic selector")) sa.dynamic = decode_dynamic_selector(d);
  return d.finish(std::move(sa));
}

void encode(Encoder& e, const driver::DataplaneCounters& c) {
  e.u32(static_cast<std::uint32_t>(c.filters.size()));
  for (const auto& f : c.filters) {
    e.u32(f.filter_id);
    e.u64(f.packets);
    e.u64(f.bytes);
  }
  e.u32(static_cast<std::uint32_t>(c.sas.size()));
  for (const auto& s : c.sas) {
    e.u32(s.spi);
    e.enumeration(s.direction);
    e.enumeration(s.protocol);
    e.u32(s.filter_id);
    e.u32(s.dynamic_filter_id);
    encode(e, s.peer);
    e.u64(s.packets);
    e.u64(s.bytes);
    e.u64(s.drops);
    e.u32(s.bundled_ah_spi);
  }
  e.u32(static_cast<std::uint32_t>(c.dynamic_filters.size()));
  for (const auto& f : c.dynamic_filters) {
    e.u32(f.id);
    e.u32(f.filter_id);
    encode(e, f.selector);
    e.u64(f.sas);
    e.u64(f.packets);
    e.u64(f.bytes);
  }
  e.u32(static_cast<std::uint32_t>(c.soft_associations.size()));
  for (const auto& a : c.soft_associations) {
    e.u32(a.filter_id);
    encode(e, a.peer);
    e.u64(a.packets);
    e.u64(a.bytes);
    e.u64(static_cast<std::uint64_t>(a.age.count()));
    e.u64(static_cast<std::uint64_t>(a.expires_in.count()));
  }
  for (const auto v : c.drops_by_reason) e.u64(v);
  for (const auto v : {c.malformed, c.blocked, c.unsecured_dropped, c.unsecured_accepted, c.unknown_spi, c.policy_mismatch,
                       c.held, c.hold_dropped, c.acquires}) {
    e.u64(v);
  }
}

Expected<driver::DataplaneCounters, std::string> decode_counters(std::span<const std::uint8_t> body) {
  Decoder d(body, "dataplane counters");
  driver::DataplaneCounters c;
  c.filters.resize(d.count("filters", 20));
  for (auto& f : c.filters) {
    f.filter_id = d.u32("filter id");
    f.packets = d.u64("packets");
    f.bytes = d.u64("bytes");
  }
  c.sas.resize(d.count("sas", 44));
  for (auto& s : c.sas) {
    s.spi = d.u32("spi");
    s.direction = d.enumeration("direction", Direction::Outbound);
    s.protocol = d.enumeration("protocol", SecurityProtocol::Ah);
    s.filter_id = d.u32("filter id");
    s.dynamic_filter_id = d.u32("dynamic filter id");
    s.peer = decode_address(d, "peer");
    s.packets = d.u64("packets");
    s.bytes = d.u64("bytes");
    s.drops = d.u64("drops");
    s.bundled_ah_spi = d.u32("bundled AH spi");
  }
  c.dynamic_filters.resize(d.count("dynamic filters", 70));
  for (auto& f : c.dynamic_filters) {
    f.id = d.u32("dynamic filter id");
    f.filter_id = d.u32("filter id");
    f.selector = decode_dynamic_selector(d);
    f.sas = static_cast<std::size_t>(d.u64("sas"));
    f.packets = d.u64("packets");
    f.bytes = d.u64("bytes");
  }
  c.soft_associations.resize(d.count("soft associations", 53));
  for (auto& a : c.soft_associations) {
    a.filter_id = d.u32("filter id");
    a.peer = decode_address(d, "peer");
    a.packets = d.u64("packets");
    a.bytes = d.u64("bytes");
    a.age = std::chrono::seconds(static_cast<std::int64_t>(d.u64("age")));
    a.expires_in = std::chrono::seconds(static_cast<std::int64_t>(d.u64("expires in")));
  }
  for (auto& v : c.drops_by_reason) v = d.u64("drops by reason");
  for (auto* v : {&c.malformed, &c.blocked, &c.unsecured_dropped, &c.unsecured_accepted, &c.unknown_spi, &c.policy_mismatch,
                  &c.held, &c.hold_dropped, &c.acquires}) {
    *v = d.u64("counter");
  }
  return d.finish(std::move(c));
}

// ---- IKE ----------------------------------------------------------------------------------------

void encode(Encoder& e, const ike::service::IkeEvent& ev) {
  e.enumeration(ev.kind);
  encode(e, ev.peer);
  e.enumeration(ev.role);
  e.text(ev.auth_method);
  e.u32(ev.filter_id);
  e.u32(ev.inbound_spi);
  e.u32(ev.outbound_spi);
  e.text(ev.reason);
  e.enumeration(ev.failure);
  e.boolean(ev.unverified);
}

Expected<ike::service::IkeEvent, std::string> decode_event(std::span<const std::uint8_t> body) {
  Decoder d(body, "IKE event");
  ike::service::IkeEvent ev;
  ev.kind = d.enumeration("kind", ike::service::IkeEvent::Kind::SoftAssociation);
  ev.peer = decode_address(d, "peer");
  ev.role = d.enumeration("role", ike::auth::Role::Responder);
  ev.auth_method = d.text("auth method");
  ev.filter_id = d.u32("filter id");
  ev.inbound_spi = d.u32("inbound spi");
  ev.outbound_spi = d.u32("outbound spi");
  ev.reason = d.text("reason");
  ev.failure = d.enumeration("failure kind", ike::service::FailureKind::Other);
  ev.unverified = d.boolean("unverified");
  return d.finish(std::move(ev));
}

static_assert(std::is_trivially_copyable_v<ike::service::IkeCounters> &&
                  sizeof(ike::service::IkeCounters) % sizeof(std::uint64_t) == 0,
              "IkeCounters travels as raw u64s");

void encode(Encoder& e, const ike::service::IkeSnapshot& s) {
  e.u32(static_cast<std::uint32_t>(s.main_modes.size()));
  for (const auto& m : s.main_modes) {
    encode(e, m.peer);
    e.u16(m.peer_port);
    e.boolean(m.nat_t);
    e.enumeration(m.role);
    e.enumeration(m.status);
    e.text(m.state);
    e.text(m.cookies);
    e.text(m.auth_method);
    e.text(m.cipher);
    e.text(m.hash);
    e.u32(m.group);
    e.u64(static_cast<std::uint64_t>(m.lifetime_left.count()));
    e.u64(m.quick_modes);
    e.boolean(m.dpd);
  }
  e.u32(static_cast<std::uint32_t>(s.quick_modes.size()));
  for (const auto& q : s.quick_modes) {
    encode(e, q.peer);
    e.enumeration(q.role);
    e.u32(q.filter_id);
    e.u32(q.inbound_spi);
    e.u32(q.outbound_spi);
    e.boolean(q.esp);
    e.enumeration(q.cipher);
    e.enumeration(q.integrity);
    e.boolean(q.ah.has_value());
    e.enumeration(q.ah.value_or(Integrity::None));
    e.u32(q.inbound_ah_spi);
    e.u32(q.outbound_ah_spi);
    e.boolean(q.pfs_group.has_value());
    e.enumeration(q.pfs_group.value_or(IkeGroupDescription{}));
    e.text(q.auth_method);
    e.u64(static_cast<std::uint64_t>(q.lifetime_left.count()));
    e.boolean(q.default_response);
  }
  e.u32(static_cast<std::uint32_t>(s.negotiating.size()));
  for (const auto& n : s.negotiating) {
    encode(e, n.peer);
    e.enumeration(n.role);
    e.u32(n.filter_id);
    e.text(n.state);
    e.boolean(n.default_response);
  }
  e.u32(static_cast<std::uint32_t>(s.failures.size()));
  for (const auto& f : s.failures) {
    encode(e, f.peer);
    e.enumeration(f.role);
    e.boolean(f.main_mode);
    e.u32(f.filter_id);
    e.enumeration(f.kind);
    e.text(f.reason);
    e.u64(static_cast<std::uint64_t>(f.age.count()));
  }
  e.raw(&s.counters, sizeof s.counters);
}

Expected<ike::service::IkeSnapshot, std::string> decode_snapshot(std::span<const std::uint8_t> body) {
  Decoder d(body, "IKE snapshot");
  ike::service::IkeSnapshot s;
  s.main_modes.resize(d.count("main modes", 40));
  for (auto& m : s.main_modes) {
    m.peer = decode_address(d, "peer");
    m.peer_port = d.u16("peer port");
    m.nat_t = d.boolean("nat_t");
    m.role = d.enumeration("role", ike::auth::Role::Responder);
    m.status = d.enumeration("status", ike::service::NegotiationState::Soft);
    m.state = d.text("state");
    m.cookies = d.text("cookies");
    m.auth_method = d.text("auth method");
    m.cipher = d.text("cipher");
    m.hash = d.text("hash");
    m.group = d.u32("group");
    m.lifetime_left = std::chrono::seconds(static_cast<std::int64_t>(d.u64("lifetime left")));
    m.quick_modes = d.u64("quick modes");
    m.dpd = d.boolean("dpd");
  }
  s.quick_modes.resize(d.count("quick modes", 40));
  for (auto& q : s.quick_modes) {
    q.peer = decode_address(d, "peer");
    q.role = d.enumeration("role", ike::auth::Role::Responder);
    q.filter_id = d.u32("filter id");
    q.inbound_spi = d.u32("inbound spi");
    q.outbound_spi = d.u32("outbound spi");
    q.esp = d.boolean("esp");
    q.cipher = d.enumeration("cipher", Cipher::TripleDesCbc);
    q.integrity = d.enumeration("integrity", Integrity::HmacMd5_96);
    const bool has_ah = d.boolean("has ah");
    const auto ah = d.enumeration("ah", Integrity::HmacMd5_96);
    if (has_ah) q.ah = ah;
    q.inbound_ah_spi = d.u32("inbound ah spi");
    q.outbound_ah_spi = d.u32("outbound ah spi");
    const bool has_pfs = d.boolean("has pfs");
    const auto pfs = d.any_enumeration<IkeGroupDescription>("pfs group");
    if (has_pfs) q.pfs_group = pfs;
    q.auth_method = d.text("auth method");
    q.lifetime_left = std::chrono::seconds(static_cast<std::int64_t>(d.u64("lifetime left")));
    q.default_response = d.boolean("default response");
  }
  s.negotiating.resize(d.count("negotiating", 34));
  for (auto& n : s.negotiating) {
    n.peer = decode_address(d, "peer");
    n.role = d.enumeration("role", ike::auth::Role::Responder);
    n.filter_id = d.u32("filter id");
    n.state = d.text("state");
    n.default_response = d.boolean("default response");
  }
  s.failures.resize(d.count("failures", 50));
  for (auto& f : s.failures) {
    f.peer = decode_address(d, "peer");
    f.role = d.enumeration("role", ike::auth::Role::Responder);
    f.main_mode = d.boolean("main mode");
    f.filter_id = d.u32("filter id");
    f.kind = d.enumeration("kind", ike::service::FailureKind::Other);
    f.reason = d.text("reason");
    f.age = std::chrono::seconds(static_cast<std::int64_t>(d.u64("age")));
  }
  d.raw(&s.counters, sizeof s.counters, "counters");
  return d.finish(std::move(s));
}

void encode(Encoder& e, const RemotePhase1Policy& p) {
  e.u32(static_cast<std::uint32_t>(p.auth.size()));
  for (const auto& a : p.auth) {
    e.enumeration(a.method);
    e.u32(a.handle);
  }
  e.u32(static_cast<std::uint32_t>(p.proposals.size()));
  for (const auto& pr : p.proposals) {
    e.enumeration(pr.cipher);
    e.u32(pr.key_bits);
    e.enumeration(pr.hash);
    e.enumeration(pr.group);
    e.u64(static_cast<std::uint64_t>(pr.lifetime.count()));
  }
  e.boolean(p.allow_legacy);
  e.u32(p.quick_mode_limit);
}

Expected<RemotePhase1Policy, std::string> decode_phase1_policy(std::span<const std::uint8_t> body) {
  Decoder d(body, "phase 1 policy");
  RemotePhase1Policy p;
  p.auth.resize(d.count("auth", 12));
  for (auto& a : p.auth) {
    a.method = d.any_enumeration<IkeAuthenticationMethod>("auth method");
    a.handle = d.u32("handle");
  }
  p.proposals.resize(d.count("proposals", 36));
  for (auto& pr : p.proposals) {
    pr.cipher = d.any_enumeration<IkeEncryptionAlgorithm>("cipher");
    pr.key_bits = d.u32("key bits");
    pr.hash = d.any_enumeration<IkeHashAlgorithm>("hash");
    pr.group = d.any_enumeration<IkeGroupDescription>("group");
    pr.lifetime = std::chrono::seconds(static_cast<std::int64_t>(d.u64("lifetime")));
  }
  p.allow_legacy = d.boolean("allow legacy");
  p.quick_mode_limit = d.u32("quick mode limit");
  return d.finish(std::move(p));
}

void encode(Encoder& e, const ike::service::QuickModePolicy& p) {
  e.u32(static_cast<std::uint32_t>(p.proposals.size()));
  for (const auto& s : p.proposals) {
    e.boolean(s.ah.has_value());
    if (s.ah) e.enumeration(s.ah->integrity);
    e.boolean(s.esp.has_value());
    if (s.esp) {
      e.enumeration(s.esp->cipher);
      e.enumeration(s.esp->integrity);
    }
  }
  e.boolean(p.allow_legacy);
  e.boolean(p.pfs_group.has_value());
  if (p.pfs_group) e.enumeration(*p.pfs_group);
  e.u64(static_cast<std::uint64_t>(p.lifetime.count()));
  e.u64(p.lifetime_kilobytes);
  encode(e, p.local);
  encode(e, p.remote);
  e.u32(p.filter_id);
  e.boolean(p.tunnel_endpoint.has_value());
  if (p.tunnel_endpoint) encode(e, *p.tunnel_endpoint);
  e.boolean(p.default_response);
  e.boolean(p.fallback_to_clear);
}

Expected<ike::service::QuickModePolicy, std::string> decode_quick_mode_policy(std::span<const std::uint8_t> body) {
  Decoder d(body, "quick mode policy");
  ike::service::QuickModePolicy p;
  p.proposals.resize(d.count("proposals", 2));
  for (auto& s : p.proposals) {
    if (d.boolean("has ah")) s.ah = ike::sa::AhProposal{d.enumeration("ah integrity", Integrity::HmacMd5_96)};
    if (d.boolean("has esp")) {
      ike::sa::EspProposal esp;
      esp.cipher = d.enumeration("esp cipher", Cipher::TripleDesCbc);
      esp.integrity = d.enumeration("esp integrity", Integrity::HmacMd5_96);
      s.esp = esp;
    }
  }
  p.allow_legacy = d.boolean("allow legacy");
  if (d.boolean("has pfs")) p.pfs_group = d.any_enumeration<IkeGroupDescription>("pfs group");
  p.lifetime = std::chrono::seconds(static_cast<std::int64_t>(d.u64("lifetime")));
  p.lifetime_kilobytes = d.u64("lifetime kilobytes");
  p.local = decode_selector(d);
  p.remote = decode_selector(d);
  p.filter_id = d.u32("filter id");
  if (d.boolean("has tunnel endpoint")) p.tunnel_endpoint = decode_address(d, "tunnel endpoint");
  p.default_response = d.boolean("default response");
  p.fallback_to_clear = d.boolean("fallback to clear");
  return d.finish(std::move(p));
}

}  // namespace ward::agent::ikeproc
