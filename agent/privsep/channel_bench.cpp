// The privsep channel's cost per message against the socket's own: Channel::send + receive of a
// small message (the size of the IKE process's notes to wardd) and of a 4 KiB one, beside a bare
// SOCK_SEQPACKET send + recv of the same bytes on the same kind of pair, measured in the same run.
//   build/default/agent/privsep/channel_bench
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "agent/privsep/channel.h"

namespace ward::agent::privsep {
namespace {

void BM_ChannelSendReceive(benchmark::State& state) {
  auto pair = Channel::pair();
  if (!pair) {
    state.SkipWithError(pair.error().c_str());
    return;
  }
  auto& [a, b] = *pair;
  const std::vector<std::uint8_t> body(static_cast<std::size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    if (!a.send(1, body)) state.SkipWithError("send failed");
    auto received = b.receive(std::chrono::milliseconds(1000));
    if (!received) state.SkipWithError(received.error().message.c_str());
    benchmark::DoNotOptimize(received);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChannelSendReceive)->Arg(64)->Arg(4096);

// The floor: the same bytes through a bare socketpair, into a buffer kept across messages.
void BM_BareSeqpacketSendRecv(benchmark::State& state) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  const std::vector<std::uint8_t> body(static_cast<std::size_t>(state.range(0)) + 4, 0x5a);
  std::vector<std::uint8_t> buffer(kMaxBody + 5);
  for (auto _ : state) {
    if (::send(fds[0], body.data(), body.size(), 0) < 0) state.SkipWithError("send failed");
    benchmark::DoNotOptimize(::recv(fds[1], buffer.data(), buffer.size(), 0));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  close(fds[0]);
  close(fds[1]);
}
BENCHMARK(BM_BareSeqpacketSendRecv)->Arg(64)->Arg(4096);

}  // namespace
}  // namespace ward::agent::privsep

BENCHMARK_MAIN();
