// Valid IKEv1 messages built with Ward's encoder, one per MessageKind (and a few variants): the
// fuzz seed corpus (ike/payload/fuzz_corpus/, written by isakmp_corpus_gen) and test inputs.
// Encrypted kinds carry their plaintext chain in place of ciphertext, which is what the parser
// sees after the state machine decrypts.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ike/message/message.h"

namespace ward::ike::samples {

struct SampleMessage {
  std::string file_name;              // corpus file name, e.g. "main_mode_1.bin"
  MessageKind kind;
  IsakmpHeader header;
  std::vector<Payload> payloads;
};

std::vector<SampleMessage> all();

// The datagram for a sample: encode_message for cleartext kinds, encode_encrypted_message with
// the plaintext chain for encrypted ones.
std::vector<std::byte> encode(const SampleMessage& sample);

// Building blocks the tests use too.
SecurityAssociation phase1_sa();
SecurityAssociation phase2_sa();
std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values);
std::vector<std::byte> filled(std::size_t size, unsigned value);

}  // namespace ward::ike::samples
