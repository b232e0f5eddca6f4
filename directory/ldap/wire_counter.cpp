// Counting the bytes of a connection: a liblber sockbuf layer that passes every read and write to
// the layer below and adds up what went through. It sits at level 15, between TCP (10, below it)
// and TLS (20) and SASL (30) above it, so it counts what the wire carries. libldap adds the TCP
// layer only after its connection callbacks ran; a level above 10 keeps ours on top of it.
#include <ldap.h>

#include "directory/ldap/session_handle.h"

namespace ward::ldap::internal {
namespace {

constexpr int kWireCounterLevel = (LBER_SBIOD_LEVEL_PROVIDER + LBER_SBIOD_LEVEL_TRANSPORT) / 2;

int counter_setup(Sockbuf_IO_Desc* sbiod, void* arg) {
  sbiod->sbiod_pvt = arg;
  return 0;
}

int counter_remove(Sockbuf_IO_Desc* sbiod) {
  sbiod->sbiod_pvt = nullptr;
  return 0;
}

int counter_ctrl(Sockbuf_IO_Desc* sbiod, int opt, void* arg) { return LBER_SBIOD_CTRL_NEXT(sbiod, opt, arg); }

ber_slen_t counter_read(Sockbuf_IO_Desc* sbiod, void* buf, ber_len_t len) {
  const ber_slen_t got = LBER_SBIOD_READ_NEXT(sbiod, buf, len);
  if (got > 0 && sbiod->sbiod_pvt != nullptr) {
    static_cast<WireCounters*>(sbiod->sbiod_pvt)->received += static_cast<std::uint64_t>(got);
  }
  return got;
}

ber_slen_t counter_write(Sockbuf_IO_Desc* sbiod, void* buf, ber_len_t len) {
  const ber_slen_t put = LBER_SBIOD_WRITE_NEXT(sbiod, buf, len);
  if (put > 0 && sbiod->sbiod_pvt != nullptr) {
    static_cast<WireCounters*>(sbiod->sbiod_pvt)->sent += static_cast<std::uint64_t>(put);
  }
  return put;
}

Sockbuf_IO kCounterIo = {counter_setup, counter_remove, counter_ctrl, counter_read, counter_write, nullptr};

int on_connect(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb* callback) {
  return ber_sockbuf_add_io(sb, &kCounterIo, kWireCounterLevel, callback->lc_arg) == 0 ? 0 : -1;
}

void on_close(LDAP*, Sockbuf*, ldap_conncb*) {}

}  // namespace

std::unique_ptr<ldap_conncb> count_wire_bytes(LDAP* ld, WireCounters& counters) {
  auto callback = std::make_unique<ldap_conncb>();
  callback->lc_add = on_connect;
  callback->lc_del = on_close;
  callback->lc_arg = &counters;
  if (ldap_set_option(ld, LDAP_OPT_CONNECT_CB, callback.get()) != LDAP_OPT_SUCCESS) return nullptr;
  return callback;
}

}  // namespace ward::ldap::internal
