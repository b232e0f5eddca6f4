// Figures, not a test: how large an IKE flood wardd takes while a real peer's handshake still
// completes in under 2 s (flood_lab.h). For each rate R (R forged main mode 1s and R garbage
// datagrams a second, the main mode 1s half from inside the responder's policy, half from
// outside), ike_flood runs while the real peer restarts and handshakes kHandshakesPerRate times;
// printed per rate: what the sender achieved, what the responder received (the rest the kernel
// dropped: its socket queue was full), the handshake times, and the responder's CPU and VmRSS.
// The last line names the largest rate at which every handshake took under 2 s. With an IKE
// process (WARD_FLOOD_A_CONF="engines = 2\n[privsep]\nuser = nobody\n"), A's CPU is wardd's and
// its IKE process's, and the IKE process's busiest threads are listed (its engines).
//
//   build/default/tests/agent/wardd_flood_harness [--gtest_filter=...]   (root)
//   WARD_FLOOD_RATES=0,5000,10000,20000,40000 to choose the rates.
//
// Not registered with ctest (not a timed test): wardd_flood_test asserts completion at 10,000 + 10,000/s.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include "agent/privsep/proc_test_support.h"
#include "tests/agent/flood_lab.h"

namespace ward::agent::daemon::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kHandshakesPerRate = 3;
constexpr auto kHandshakeLimit = 5s;
constexpr auto kGoal = 2000ms;

std::vector<double> rates() {
  std::vector<double> out;
  const char* text = std::getenv("WARD_FLOOD_RATES");
  std::istringstream in(text != nullptr ? text : "0,2500,5000,10000,20000,40000,80000");
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stod(item));
  return out;
}

// utime + stime of `pid` (or of its thread `tid`) in clock ticks.
long cpu_ticks(pid_t pid, pid_t tid = -1) {
  std::ifstream stat("/proc/" + std::to_string(pid) + (tid > 0 ? "/task/" + std::to_string(tid) : std::string()) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = content.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(content.substr(close + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;   // state .. cmajflt
  long utime = 0, stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

// CPU ticks of each thread of `pid`, by thread id (none when pid <= 0).
std::map<pid_t, long> thread_ticks(pid_t pid) {
  std::map<pid_t, long> out;
  if (pid <= 0) return out;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    const auto tid = static_cast<pid_t>(std::strtol(task.path().filename().c_str(), nullptr, 10));
    out[tid] = cpu_ticks(pid, tid);
  }
  return out;
}

// The threads' CPU % between two thread_ticks, busiest first, the first `n`.
std::string busiest(const std::map<pid_t, long>& before, const std::map<pid_t, long>& after, double seconds, long ticks_per_second,
                    std::size_t n) {
  std::vector<double> percents;
  for (const auto& [tid, ticks] : after) {
    const auto was = before.find(tid);
    const long spent = ticks - (was == before.end() ? 0 : was->second);
    percents.push_back(100.0 * static_cast<double>(spent) / static_cast<double>(ticks_per_second) / seconds);
  }
  std::sort(percents.rbegin(), percents.rend());
  std::string text;
  for (std::size_t i = 0; i < std::min(n, percents.size()); ++i) text += (text.empty() ? "" : "/") + std::to_string(static_cast<int>(percents[i] + 0.5));
  return text.empty() ? "-" : text;
}

TEST(WarddFloodHarness, LargestFloodWithAHandshakeUnderTwoSeconds) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  auto dir = test::TempDir::create("wardd-flood-harness");
  ASSERT_TRUE(dir) << dir.error().to_string();
  std::string failure;
  FloodLab lab(dir->path(), failure);
  ASSERT_TRUE(failure.empty()) << failure;
  const long ticks_per_second = sysconf(_SC_CLK_TCK);

  const pid_t ike = agent::privsep::testing::privsep_child_of(lab.a().wardd.pid(), "ike");
  std::printf("%10s %10s %12s %12s %24s %9s %9s %16s\n", "offered/s", "sent/s", "received/s", "answered", "handshakes (ms)",
              "A cpu %", "A rss kB", "IKE threads %");
  double largest_ok = -1;
  for (const double rate : rates()) {
    const auto before = lab.a_ike_counters();
    const auto log = dir->path() / ("flood-" + std::to_string(static_cast<long>(rate)) + ".log");
    const double seconds = 1 + kHandshakesPerRate * 8;
    test::ChildProcess flood;
    if (rate > 0) flood = lab.flood(rate, rate, seconds, log);
    std::this_thread::sleep_for(1s);
    const auto started = std::chrono::steady_clock::now();
    const long cpu_before = cpu_ticks(lab.a().wardd.pid()) + (ike > 0 ? cpu_ticks(ike) : 0);
    const auto threads_before = thread_ticks(ike);
    std::vector<long long> times;
    bool all_ok = true;
    for (int i = 0; i < kHandshakesPerRate; ++i) {
      const auto took = lab.handshake(kHandshakeLimit);
      times.push_back(took ? static_cast<long long>(took->count()) : -1);
      all_ok = all_ok && took && *took < kGoal;
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const long cpu = cpu_ticks(lab.a().wardd.pid()) + (ike > 0 ? cpu_ticks(ike) : 0) - cpu_before;
    const auto threads = busiest(threads_before, thread_ticks(ike), elapsed, ticks_per_second, 4);
    if (rate > 0) {
      ::kill(flood.pid(), SIGTERM);
      while (flood.running()) std::this_thread::sleep_for(20ms);
    }
    const auto after = lab.a_ike_counters();
    const auto delta = [&](const char* key) {
      return after.value(key, std::uint64_t{0}) - before.value(key, std::uint64_t{0});
    };
    double sent_rate = 0;
    if (rate > 0) {
      const auto report = test::read_text(log);
      const auto at = report.find(" s (");
      unsigned long long mm1 = 0, junk = 0;
      double flood_seconds = 1;
      std::sscanf(report.c_str(), "ike_flood: %llu main mode 1 + %llu garbage datagrams in %lf", &mm1, &junk, &flood_seconds);
      (void)at;
      sent_rate = static_cast<double>(mm1 + junk) / std::max(flood_seconds, 0.001);
    }
    std::string handshakes;
    for (const auto t : times) handshakes += (handshakes.empty() ? "" : " ") + (t < 0 ? std::string("FAIL") : std::to_string(t));
    std::printf("%10.0f %10.0f %12.0f %12llu %24s %9.0f %9ld %16s\n", 2 * rate, sent_rate,
                static_cast<double>(delta("datagrams_received")) / (elapsed + 1),
                static_cast<unsigned long long>(delta("main_mode_1_answered")), handshakes.c_str(),
                100.0 * static_cast<double>(cpu) / static_cast<double>(ticks_per_second) / elapsed, vm_rss_kb(lab.a().wardd.pid()),
                threads.c_str());
    std::fflush(stdout);
    if (all_ok) largest_ok = rate;
    if (!all_ok && rate > 0) break;
  }
  std::printf("largest flood with every handshake under %lld ms: %.0f main mode 1 + %.0f garbage datagrams per second\n",
              static_cast<long long>(kGoal.count()), largest_ok, largest_ok);
}

}  // namespace
}  // namespace ward::agent::daemon::testing
