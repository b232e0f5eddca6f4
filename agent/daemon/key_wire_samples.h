// Every body that crosses between wardd and its key process (key_wire.h), in a fixed order (the
// first byte of a key_wire_fuzz input picks one), with a filled-in value of each: the seeds of the
// fuzz corpus (key_wire_corpus_gen) and the round trips of key_wire_test.
#pragma once

#include <span>
#include <string>
#include <tuple>
#include <type_traits>

#include "agent/daemon/key_wire.h"

namespace ward::agent::daemon::keyproc::samples {

// Append new bodies at the end: the committed corpus names bodies by their index here.
using Bodies = std::tuple<PresharedKeyNote, ikeproc::SkeyidRequest, CertificateKeyRequest, ikeproc::SignRequest, KeytabRequest,
                          GssAcceptRequest, GssInitRequest, KdcRequest, TgtRequest, TgtAnswer>;

inline PresharedKeyNote sample(std::type_identity<PresharedKeyNote>) {
  const std::string key = "not a real key";
  return {3, driver::crypto::SecureBytes(std::as_bytes(std::span(key.data(), key.size())))};
}
inline ikeproc::SkeyidRequest sample(std::type_identity<ikeproc::SkeyidRequest>) {
  ikeproc::SkeyidRequest request;
  request.handle = 3;
  request.hash = ike::IkeHashAlgorithm::Sha2_256;
  request.ni_b.assign(16, std::byte{0x11});
  request.nr_b.assign(20, std::byte{0x22});
  return request;
}
inline CertificateKeyRequest sample(std::type_identity<CertificateKeyRequest>) {
  return {2, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "private key file /etc/ward/host.key"};
}
inline ikeproc::SignRequest sample(std::type_identity<ikeproc::SignRequest>) {
  ikeproc::SignRequest request;
  request.handle = 2;
  request.hash.assign(32, std::byte{0x5a});
  return request;
}

inline KeytabRequest sample(std::type_identity<KeytabRequest>) {
  return {4, "/etc/krb5.keytab", "HOST$@WARD.TEST", "host/host.ward.test@WARD.TEST"};
}
inline GssAcceptRequest sample(std::type_identity<GssAcceptRequest>) {
  GssAcceptRequest request;
  request.keytab = 4;
  request.peer = IpAddress::parse("192.0.2.7").value();
  request.expected_principal = "host/peer.ward.test@WARD.TEST";
  request.tokens = {std::vector<std::byte>(48, std::byte{0x60}), std::vector<std::byte>(5, std::byte{0x01})};
  return request;
}

inline GssInitRequest sample(std::type_identity<GssInitRequest>) {
  return {4, IpAddress::parse("192.0.2.8").value(), "host/peer.ward.test@WARD.TEST"};
}
inline KdcRequest sample(std::type_identity<KdcRequest>) { return {"WARD.TEST", std::vector<std::byte>(64, std::byte{0x6a})}; }

inline TgtRequest sample(std::type_identity<TgtRequest>) { return {4, "HOST$@WARD.TEST"}; }
inline TgtAnswer sample(std::type_identity<TgtAnswer>) {
  const std::string ticket = "not a real marshalled credential";
  return {driver::crypto::SecureBytes(std::as_bytes(std::span(ticket.data(), ticket.size()))), 1796600000};
}

struct Sampler {
  template <class T>
  T operator()(std::type_identity<T> which) const {
    return sample(which);
  }
};

}  // namespace ward::agent::daemon::keyproc::samples
