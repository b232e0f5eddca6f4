// Writes the seed corpus for ikev2_fuzz: the messages of one IKE_SA_INIT + IKE_AUTH between two
// Ward ends (as sent), the IKE_AUTH payloads sealed again under fuzz_keys.h's fixed keys (so the
// fuzzer gets past the ICV into the inner chain), a refusal and a message with every payload type;
// and the certificate path's: IKE_SA_INIT with SIGNATURE_HASH_ALGORITHMS and a CERTREQ, IKE_AUTH
// requests with IDi (DN), CERT, CERTREQ and AUTH by RFC 7427 (sha256WithRSAEncryption and
// ecdsa-with-SHA256 AlgorithmIdentifiers) and by ECDSA method 9 (r | s), under the fixed keys.
// Usage: ikev2_corpus_gen <dir>   (ike/v2/fuzz_corpus)
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ike/v2/fragments.h"
#include "ike/v2/fuzz_keys.h"
#include "ike/v2/ike_auth.h"

namespace {

using namespace ward;
using namespace ward::ike::v2;

bool write(const std::filesystem::path& dir, const std::string& name, const Bytes& bytes) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  std::printf("%s: %zu bytes\n", name.c_str(), bytes.size());
  return static_cast<bool>(out);
}

Bytes v4(const IpAddress& a) { return Bytes(reinterpret_cast<const std::byte*>(a.bytes().data()), reinterpret_cast<const std::byte*>(a.bytes().data()) + 4); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);
  const auto a = *IpAddress::parse("10.0.0.1");
  const auto b = *IpAddress::parse("10.0.0.2");
  IkeSaInitConfig init_a;
  init_a.proposals = {IkeProposal{}, IkeProposal{EncryptionId::AesGcm16, 256, IntegrityId::None, PrfId::HmacSha2_384, ike::IkeGroupDescription::Ecp256}};
  init_a.local = {a, 500};
  init_a.remote = {b, 500};
  IkeSaInitConfig init_b = init_a;
  std::swap(init_b.local, init_b.remote);
  const std::string key = "fuzz corpus key";
  const SecureBytes psk(std::as_bytes(std::span(key.data(), key.size())));
  AuthConfig auth_a;
  auth_a.id_data = v4(a);
  auth_a.preshared_key = psk;
  AuthConfig auth_b;
  auth_b.id_data = v4(b);
  auth_b.preshared_key = psk;
  ChildSaConfig child_a;
  child_a.proposals = {ChildProposal{}, ChildProposal{driver::crypto::Cipher::AesCbc256, driver::crypto::Integrity::HmacSha1_96}};
  child_a.local = TrafficSelector::of(IpPrefix::host(a));
  child_a.remote = TrafficSelector::of(IpPrefix::host(b));
  ChildSaConfig child_b = child_a;
  std::swap(child_b.local, child_b.remote);

  auto initiator = IkeSaInitInitiator::create(init_a);
  if (!initiator) return 1;
  bool ok = write(dir, "ike_sa_init_request", initiator->request());
  auto reply = respond_ike_sa_init(init_b, initiator->request());
  if (!reply || !reply->sa) return 1;
  ok = ok && write(dir, "ike_sa_init_response", reply->reply);
  auto sa_a = initiator->consume_response(reply->reply);
  if (!sa_a || !*sa_a) return 1;
  IkeSa sa_b = std::move(*reply->sa);
  IkeAuthInitiator auth(**sa_a, auth_a, child_a, 0x1234);
  auto request = auth.build_request();
  if (!request) return 1;
  ok = ok && write(dir, "ike_auth_request", *request);
  auto auth_reply = respond_ike_auth(sa_b, auth_b, child_b, 0x5678, *request);
  if (!auth_reply || !auth_reply->child) return 1;
  ok = ok && write(dir, "ike_auth_response", auth_reply->reply);

  // The same payloads under the fixed keys, and a message with every payload type.
  auto parsed = parse_message(*request);
  auto inner = open_message((*sa_a)->proposal.suite(), (*sa_a)->outbound_keys(), *request, *parsed->find<EncryptedPayload>());
  if (!inner) return 1;
  auto resealed = seal_message(fuzzing::suite(), fuzzing::keys(), parsed->header, *inner);
  ok = ok && resealed && write(dir, "ike_auth_request_fuzz_keys", *resealed);
  std::vector<Payload> all = *inner;
  all.emplace_back(CertPayload{false, 4, Bytes(64, std::byte{0x30})});
  all.emplace_back(CertPayload{true, 4, Bytes(20, std::byte{0x01})});
  all.emplace_back(DeletePayload{ProtocolId::Esp, 4, {Bytes{std::byte{0}, std::byte{0}, std::byte{0x12}, std::byte{0x34}}}});
  all.emplace_back(VendorIdPayload{Bytes(16, std::byte{0x88})});
  all.emplace_back(UnknownPayload{47, Bytes(8, std::byte{0})});
  auto every = seal_message(fuzzing::suite(), fuzzing::keys(), parsed->header, all);
  ok = ok && every && write(dir, "informational_every_payload_fuzz_keys", *every);
  // RFC 7383: the request as SKF fragments under the fixed keys (200-byte datagrams split it), and the whole of it in one fragment.
  const IkeSa fuzz_sa = fuzzing::sa(true, parsed->header.initiator_spi, parsed->header.responder_spi);
  auto fragments = fragment_message(fuzz_sa, *resealed, 200, IpFamily::V4);
  ok = ok && fragments && fragments->size() >= 2;
  for (std::size_t n = 0; ok && n < fragments->size(); ++n) {
    ok = write(dir, "ike_auth_request_skf_" + std::to_string(n + 1) + "_of_" + std::to_string(fragments->size()) + "_fuzz_keys",
               (*fragments)[n]);
  }
  // A one-fragment message (Total Fragments 1), written by hand: fragment_message never makes one
  // (the SKF header is 4 bytes longer than SK's), but a peer may send it.
  auto chain = encode_payload_chain(all);
  ok = ok && chain;
  if (ok) {
    Header h = parsed->header;
    h.next_payload = PayloadType::EncryptedFragment;
    const std::size_t skf_length = kFragmentPayloadHeaderSize + sealed_body_size(fuzzing::suite(), chain->size());
    h.length = static_cast<std::uint32_t>(kHeaderSize + skf_length);
    ByteWriter w;
    h.encode(w);
    w.u8(static_cast<std::uint8_t>(type_of(all.front())));
    w.u8(0);
    w.u16_be(static_cast<std::uint16_t>(skf_length));
    w.u16_be(1);
    w.u16_be(1);
    ok = seal_body(fuzzing::suite(), fuzzing::keys(), w, *chain) && write(dir, "informational_every_payload_skf_1_of_1_fuzz_keys", w.data());
  }
  Header refusal_header = parse_message(reply->reply)->header;
  std::vector<Payload> refusal{NotifyPayload{0, {}, static_cast<std::uint16_t>(NotifyType::InvalidKePayload), Bytes{std::byte{0}, std::byte{19}}}};
  auto refused = encode_message(refusal_header, refusal);
  ok = ok && refused && write(dir, "ike_sa_init_invalid_ke", *refused);

  // The certificate path: IKE_SA_INIT announcing RFC 7427 hashes, the responder's CERTREQ.
  IkeSaInitConfig init_cert_a = init_a, init_cert_b = init_b;
  init_cert_a.signature_hashes = init_cert_b.signature_hashes = true;
  init_cert_b.certificate_request = Bytes(20, std::byte{0x5a});
  auto cert_initiator = IkeSaInitInitiator::create(init_cert_a);
  if (!cert_initiator) return 1;
  ok = ok && write(dir, "ike_sa_init_request_signature_hashes", cert_initiator->request());
  auto cert_reply = respond_ike_sa_init(init_cert_b, cert_initiator->request());
  ok = ok && cert_reply && cert_reply->sa && write(dir, "ike_sa_init_response_certreq", cert_reply->reply);
  // IKE_AUTH requests as a certificate-authenticating initiator sends them (the signatures are
  // filler: the fuzzer reaches the decoding, not a key).
  const Bytes dn{std::byte{0x30}, std::byte{0x0d}, std::byte{0x31}, std::byte{0x0b}, std::byte{0x30}, std::byte{0x09},
                 std::byte{0x06}, std::byte{0x03}, std::byte{0x55}, std::byte{0x04}, std::byte{0x03}, std::byte{0x0c},
                 std::byte{0x02}, std::byte{0x61}, std::byte{0x62}};   // CN=ab
  auto with_auth = [&](const AuthPayload& signature) {
    std::vector<Payload> payloads{IdPayload{true, IdType::DerAsn1Dn, dn}, CertPayload{false, 4, Bytes(64, std::byte{0x30})},
                               CertPayload{true, 4, Bytes(20, std::byte{0x5a})}, signature};
    for (const auto& p : *inner) {
      if (!std::holds_alternative<IdPayload>(p) && !std::holds_alternative<AuthPayload>(p)) payloads.push_back(p);
    }
    return seal_message(fuzzing::suite(), fuzzing::keys(), parsed->header, payloads);
  };
  auto algorithm = [](std::initializer_list<unsigned> der, std::size_t signature_size) {
    Bytes data{std::byte(der.size())};
    for (const auto octet : der) data.push_back(std::byte(octet));
    data.insert(data.end(), signature_size, std::byte{0x7f});
    return data;
  };
  const auto rsa_sha256 = algorithm({0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}, 256);
  const auto ecdsa_sha256 = algorithm({0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, 70);
  auto rfc7427_rsa = with_auth(AuthPayload{AuthMethod::DigitalSignature, rsa_sha256});
  ok = ok && rfc7427_rsa && write(dir, "ike_auth_certificate_rfc7427_rsa_fuzz_keys", *rfc7427_rsa);
  auto rfc7427_ecdsa = with_auth(AuthPayload{AuthMethod::DigitalSignature, ecdsa_sha256});
  ok = ok && rfc7427_ecdsa && write(dir, "ike_auth_certificate_rfc7427_ecdsa_fuzz_keys", *rfc7427_ecdsa);
  auto classic_ecdsa = with_auth(AuthPayload{AuthMethod::EcdsaSha256P256, Bytes(64, std::byte{0x11})});
  ok = ok && classic_ecdsa && write(dir, "ike_auth_certificate_ecdsa_p256_fuzz_keys", *classic_ecdsa);
  return ok ? 0 : 1;
}
