#include "tests/netns/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

Netns::~Netns() {
  run_command("for pid in $(ip netns pids " + name_ + " 2>/dev/null); do kill $pid 2>/dev/null; done");
  run_command("ip netns del " + name_ + " 2>/dev/null");
}

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

namespace {
sockaddr_in socket_address(const std::string& address, std::uint16_t port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &out.sin_addr) != 1) throw std::runtime_error("not an IPv4 address: " + address);
  return out;
}
}  // namespace

TcpListeners::TcpListeners(const Netns& ns, const std::string& address, std::initializer_list<std::uint16_t> ports) {
  for (const auto port : ports) {
    ns.run_inside([&] {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int on = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
      const auto where = socket_address(address, port);
      if (bind(fd, reinterpret_cast<const sockaddr*>(&where), sizeof where) != 0 || listen(fd, 16) != 0) {
        close(fd);
        throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port));
      }
      fds_.push_back(fd);
    });
  }
}

TcpListeners::~TcpListeners() {
  for (const int fd : fds_) close(fd);
}

bool tcp_connects(const Netns& ns, const std::string& address, std::uint16_t port) {
  bool connected = false;
  ns.run_inside([&] {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    const auto where = socket_address(address, port);
    connected = connect(fd, reinterpret_cast<const sockaddr*>(&where), sizeof where) == 0;
    close(fd);
  });
  return connected;
}

int ping_once(const Netns& from, const std::string& address) { return from.exec("ping -c1 -W1 " + address + " >/dev/null 2>&1"); }

std::pair<std::string, std::string> connect_veth(const Netns& a, const std::string& a_address, const Netns& b,
                                                 const std::string& b_address) {
  static std::atomic<int> veth_counter{0};
  const std::string suffix = std::to_string(getpid() % 100000) + "x" + std::to_string(veth_counter++);
  const std::string a_link = "wa" + suffix;
  const std::string b_link = "wb" + suffix;
  if (run_command("ip link add " + a_link + " netns " + a.name() + " type veth peer name " + b_link + " netns " + b.name()) != 0) {
    throw std::runtime_error("cannot create veth pair " + a_link + "/" + b_link);
  }
  a.exec("ip addr add " + a_address + " dev " + a_link + " && ip link set " + a_link + " up");
  b.exec("ip addr add " + b_address + " dev " + b_link + " && ip link set " + b_link + " up");
  // A link set up is not yet carrying: the kernel's link watch gives it a real queueing discipline
  // (and operstate UP) up to a second later, and until then what it sends is dropped. A test's
  // first ping must not depend on how busy the machine is.
  for (const auto& [ns, link] : {std::pair{&a, a_link}, std::pair{&b, b_link}}) {
    if (ns->exec("for i in $(seq 100); do ip -o link show dev " + link + " | grep -q \"state UP\" && exit 0; sleep 0.05; done; exit 1") != 0) {
      throw std::runtime_error("veth " + link + " did not come up within 5 s");
    }
  }
  return {a_link, b_link};
}

}  // namespace ward::testing
