#include "tests/netns/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace ward::testing {

int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status)) return 127;
  return WEXITSTATUS(status);
}

std::string command_output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  pclose(pipe);
  return out;
}

bool can_use_network_namespaces(std::string* why_not) {
  if (geteuid() != 0) {
    if (why_not) *why_not = "network namespace tests need root";
    return false;
  }
  if (run_command("command -v ip >/dev/null 2>&1") != 0) {
    if (why_not) *why_not = "the ip tool (iproute2) is missing";
    return false;
  }
  return true;
}

namespace {
std::atomic<int> namespace_counter{0};
}

Netns::Netns(const std::string& role)
    : name_("ward-" + std::to_string(getpid()) + "-" + role + "-" + std::to_string(namespace_counter++)) {
  if (run_command("ip netns add " + name_) != 0) throw std::runtime_error("cannot create network namespace " + name_);
  exec("ip link set lo up");
}

Netns::~Netns() { run_command("ip netns del " + name_ + " 2>/dev/null"); }

int Netns::exec(const std::string& command) const {
  return run_command("ip netns exec " + name_ + " sh -c '" + command + "'");
}

std::string Netns::exec_output(const std::string& command) const {
  return command_output("ip netns exec " + name_ + " sh -c '" + command + "'");
}

void Netns::run_inside(const std::function<void()>& body) const {
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      const int fd = open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("cannot enter network namespace " + name_);
      close(fd);
      body();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

void connect_veth(const Netns& a, const std::string& a_address, const Netns& b, const std::string& b_address) {
  static std::atomic<int> veth_counter{0};
  const std::string suffix = std::to_string(getpid() % 100000) + "x" + std::to_string(veth_counter++);
  const std::string a_link = "wa" + suffix;
  const std::string b_link = "wb" + suffix;
  if (run_command("ip link add " + a_link + " netns " + a.name() + " type veth peer name " + b_link + " netns " + b.name()) != 0) {
    throw std::runtime_error("cannot create veth pair " + a_link + "/" + b_link);
  }
  a.exec("ip addr add " + a_address + " dev " + a_link + " && ip link set " + a_link + " up");
  b.exec("ip addr add " + b_address + " dev " + b_link + " && ip link set " + b_link + " up");
}

}  // namespace ward::testing
