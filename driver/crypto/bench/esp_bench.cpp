// ESP throughput in process: a whole IPv4 packet (transport mode, UDP payload of 64, 512 or 1400
// bytes) through EspSa::encapsulate and EspSa::decapsulate. Bytes counted are payload bytes (the
// UDP datagram), not the ESP overhead. Three views per algorithm:
//   esp_roundtrip/...  encapsulate + decapsulate (two crypto passes per counted byte)
//   esp_encap/...      encapsulate only
//   esp_decap/...      decapsulate only (one packet, replayed with anti-replay disabled)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "driver/crypto/esp.h"
#include "driver/crypto/fuzz_sas.h"
#include "driver/crypto/test_sas.h"

namespace crypto = ward::driver::crypto;

namespace {

struct Pair {
  crypto::EspSa outbound;
  crypto::EspSa inbound;
};

Pair make_pair(crypto::Cipher cipher, crypto::Integrity integrity, std::uint32_t replay_window) {
  crypto::testing::SaShape shape;
  shape.cipher = cipher;
  shape.integrity = integrity;
  crypto::SaParams params = crypto::testing::outbound_params(shape);
  params.replay_window = replay_window;
  auto outbound = crypto::EspSa::create(params);
  auto inbound = crypto::EspSa::create(crypto::fuzzing::inbound_of(params));
  if (!outbound || !inbound) {
    std::fprintf(stderr, "esp_bench: %s\n", (outbound ? inbound.error() : outbound.error()).c_str());
    std::exit(1);
  }
  return Pair{std::move(*outbound), std::move(*inbound)};
}

std::vector<std::byte> udp_packet(std::size_t payload) {
  constexpr std::uint8_t kUdp = 17;
  return crypto::testing::make_ipv4_packet(crypto::IpAddress::v4(192, 0, 2, 1), crypto::IpAddress::v4(192, 0, 2, 2),
                                           kUdp, crypto::testing::pattern_bytes(payload));
}

template <crypto::Cipher C, crypto::Integrity I>
void esp_roundtrip(benchmark::State& state) {
  const auto payload = static_cast<std::size_t>(state.range(0));
  Pair pair = make_pair(C, I, crypto::kDefaultReplayWindow);
  const auto packet = udp_packet(payload);
  std::vector<std::byte> wire;
  std::vector<std::byte> back;
  for (auto _ : state) {
    if (!pair.outbound.encapsulate(packet, wire) || !pair.inbound.decapsulate(wire, back)) {
      state.SkipWithError("ESP round trip failed");
      break;
    }
    benchmark::DoNotOptimize(back.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload));
}

template <crypto::Cipher C, crypto::Integrity I>
void esp_encap(benchmark::State& state) {
  const auto payload = static_cast<std::size_t>(state.range(0));
  Pair pair = make_pair(C, I, crypto::kDefaultReplayWindow);
  const auto packet = udp_packet(payload);
  std::vector<std::byte> wire;
  for (auto _ : state) {
    if (!pair.outbound.encapsulate(packet, wire)) {
      state.SkipWithError("ESP encapsulate failed");
      break;
    }
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload));
}

template <crypto::Cipher C, crypto::Integrity I>
void esp_decap(benchmark::State& state) {
  const auto payload = static_cast<std::size_t>(state.range(0));
  Pair pair = make_pair(C, I, 0);  // anti-replay off, so one packet can be decapsulated repeatedly
  const auto packet = udp_packet(payload);
  std::vector<std::byte> wire;
  std::vector<std::byte> back;
  if (!pair.outbound.encapsulate(packet, wire)) {
    state.SkipWithError("ESP encapsulate failed");
    return;
  }
  for (auto _ : state) {
    if (!pair.inbound.decapsulate(wire, back)) {
      state.SkipWithError("ESP decapsulate failed");
      break;
    }
    benchmark::DoNotOptimize(back.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload));
}

using crypto::Cipher;
using crypto::Integrity;

// With --benchmark_repetitions, a "_max" aggregate too: the best bytes_per_second (its time columns
// are the worst), which compare_openssl_speed.sh uses against the best of OpenSSL's runs.
double max_of(const std::vector<double>& values) { return *std::max_element(values.begin(), values.end()); }

#define WARD_ESP_BENCH(kind, name, cipher, integrity)                                               \
  BENCHMARK(kind<cipher, integrity>)->Name(#kind "/" name)->Arg(64)->Arg(512)->Arg(1400)->ComputeStatistics( \
      "max", max_of)

WARD_ESP_BENCH(esp_roundtrip, "aes-128-gcm", Cipher::AesGcm128, Integrity::None);
WARD_ESP_BENCH(esp_roundtrip, "aes-256-gcm", Cipher::AesGcm256, Integrity::None);
WARD_ESP_BENCH(esp_roundtrip, "aes-128-cbc+hmac-sha1", Cipher::AesCbc128, Integrity::HmacSha1_96);
WARD_ESP_BENCH(esp_roundtrip, "aes-256-cbc+hmac-sha256", Cipher::AesCbc256, Integrity::HmacSha256_128);
WARD_ESP_BENCH(esp_encap, "aes-128-gcm", Cipher::AesGcm128, Integrity::None);
WARD_ESP_BENCH(esp_encap, "aes-256-gcm", Cipher::AesGcm256, Integrity::None);
WARD_ESP_BENCH(esp_encap, "aes-128-cbc+hmac-sha1", Cipher::AesCbc128, Integrity::HmacSha1_96);
WARD_ESP_BENCH(esp_encap, "aes-256-cbc+hmac-sha256", Cipher::AesCbc256, Integrity::HmacSha256_128);
WARD_ESP_BENCH(esp_decap, "aes-128-gcm", Cipher::AesGcm128, Integrity::None);
WARD_ESP_BENCH(esp_decap, "aes-256-gcm", Cipher::AesGcm256, Integrity::None);
WARD_ESP_BENCH(esp_decap, "aes-128-cbc+hmac-sha1", Cipher::AesCbc128, Integrity::HmacSha1_96);
WARD_ESP_BENCH(esp_decap, "aes-256-cbc+hmac-sha256", Cipher::AesCbc256, Integrity::HmacSha256_128);

}  // namespace

BENCHMARK_MAIN();
