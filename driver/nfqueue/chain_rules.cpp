#include "driver/nfqueue/chain_rules.h"

#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace ward::driver {

namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kEsp = 50;
constexpr std::uint8_t kAh = 51;

std::string queue_target(const ChainOptions& options) {
  if (options.queue_count <= 1) return "NFQUEUE --queue-num " + std::to_string(options.first_queue);
  return "NFQUEUE --queue-balance " + std::to_string(options.first_queue) + ":" +
         std::to_string(options.first_queue + options.queue_count - 1);
}

std::string ports_match(const char* option, const PortRange& ports) {
  if (ports.is_any()) return {};
  std::string text = std::string(" ") + option + " " + std::to_string(ports.first);
  if (!ports.is_single()) {
    text += ':';  // not ":" + std::to_string(...): GCC 12 at -O3 warns falsely (-Wrestrict) on it
    text += std::to_string(ports.last);
  }
  return text;
}

std::string selector(const DriverFilter& filter) {
  std::string rule;
  if (!filter.source.is_any()) rule += " -s " + filter.source.to_string();
  if (!filter.destination.is_any()) rule += " -d " + filter.destination.to_string();
  if (filter.protocol != 0) rule += " -p " + std::to_string(filter.protocol);
  if (filter.protocol == kTcp || filter.protocol == kUdp) {
    rule += ports_match("--sport", filter.source_ports);
    rule += ports_match("--dport", filter.destination_ports);
  }
  return rule;
}

std::string filter_rule(const std::string& chain, const DriverFilter& filter, const ChainOptions& options, IpFamily family) {
  std::string rule;
  // ESP makes packets longer: TCP connections through negotiate filters get an MSS that leaves room
  // for it, so full-size segments never need fragmenting after protection.
  if (filter.action == FilterAction::Negotiate && (filter.protocol == 0 || filter.protocol == kTcp)) {
    const auto mss = family == IpFamily::V4 ? options.tcp_mss_ipv4 : options.tcp_mss_ipv6;
    rule += "-A " + chain + selector(filter) + (filter.protocol == 0 ? " -p 6" : "") +
            " --tcp-flags SYN,RST SYN -j TCPMSS --set-mss " + std::to_string(mss) + "\n";
  }
  rule += "-A " + chain + selector(filter);
  switch (filter.action) {
    case FilterAction::Permit: rule += " -j RETURN"; break;
    case FilterAction::Block: rule += " -j DROP"; break;
    case FilterAction::Negotiate: rule += " -j " + queue_target(options); break;
  }
  return rule + "\n";
}

// Runs `program args...` with `input` on its standard input; returns its exit status text on failure.
Expected<void, std::string> run_with_input(const std::vector<std::string>& command, const std::string& input, bool quiet = false) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return unexpected(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
  if (quiet) posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const auto& part : command) argv.push_back(const_cast<char*>(part.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[0]);
  if (spawned != 0) {
    close(pipe_fds[1]);
    return unexpected(command[0] + ": " + std::strerror(spawned));
  }
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = write(pipe_fds[1], input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  close(pipe_fds[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return unexpected(command[0] + " failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  return {};
}

const char* restore_program(IpFamily family) { return family == IpFamily::V4 ? "iptables-restore" : "ip6tables-restore"; }
const char* iptables_program(IpFamily family) { return family == IpFamily::V4 ? "iptables" : "ip6tables"; }

}  // namespace

namespace {

std::string dynamic_rules(IpFamily family, std::span<const DriverFilter> dynamic, const ChainOptions& options) {
  std::string text;
  for (const auto& filter : dynamic) {
    if (filter.source.family() != family) continue;
    text += filter_rule(options.dynamic_outbound_chain, filter, options, family);
    text += filter_rule(options.dynamic_inbound_chain, filter, options, family);
  }
  return text;
}

std::string declare(const std::string& chain) { return ":" + chain + " - [0:0]\n"; }

}  // namespace

std::string render_dynamic_chain_rules(IpFamily family, std::span<const DriverFilter> dynamic, const ChainOptions& options) {
  return "*raw\n" + declare(options.dynamic_outbound_chain) + declare(options.dynamic_inbound_chain) +
         dynamic_rules(family, dynamic, options) + "COMMIT\n";
}

std::string render_chain_rules(IpFamily family, const FilterTable& table, const ChainOptions& options,
                               std::span<const DriverFilter> dynamic) {
  std::string text = "*raw\n";
  text += declare(options.outbound_chain) + declare(options.inbound_chain);
  text += declare(options.dynamic_outbound_chain) + declare(options.dynamic_inbound_chain);
  for (const auto& name : options.exempt_interfaces) {
    text += "-A " + options.outbound_chain + " -o " + name + " -j RETURN\n";
    text += "-A " + options.inbound_chain + " -i " + name + " -j RETURN\n";
  }
  // IKE passes untouched; IPsec-protected traffic coming in always goes to Ward.
  const auto ike = std::to_string(kIkePort);
  text += "-A " + options.outbound_chain + " -p 17 --sport " + ike + " -j RETURN\n";
  text += "-A " + options.outbound_chain + " -p 17 --dport " + ike + " -j RETURN\n";
  text += "-A " + options.outbound_chain + " -p 17 --sport " + std::to_string(kNatTraversalPort) + " -j RETURN\n";
  // ESP and AH leaving this host are already protected (Ward's own, re-injected by verdict, never
  // come back here).
  text += "-A " + options.outbound_chain + " -p " + std::to_string(kEsp) + " -j RETURN\n";
  // In IPv6, AH is an extension header: ip6tables finds it with the ah match, not -p.
  const std::string ah = family == IpFamily::V4 ? " -p " + std::to_string(kAh) : std::string(" -m ah");
  text += "-A " + options.outbound_chain + ah + " -j RETURN\n";
  text += "-A " + options.inbound_chain + " -p 17 --dport " + ike + " -j RETURN\n";
  // A UDP datagram larger than the path MTU arrives in fragments, and only the first carries the
  // ports: IKE main mode 3 with a Kerberos AP-REQ from Active Directory (the PAC makes it ~1.7 kB)
  // is one. Without conntrack in the namespace nothing reassembles them before this chain, so the
  // later fragments pass here and the first one decides: a datagram whose first fragment is
  // dropped is never reassembled. (IPv4; ip6tables has no plain "later fragment" match.)
  if (family == IpFamily::V4) text += "-A " + options.inbound_chain + " -p 17 -f -j RETURN\n";
  text += "-A " + options.inbound_chain + " -p " + std::to_string(kEsp) + " -j " + queue_target(options) + "\n";
  text += "-A " + options.inbound_chain + ah + " -j " + queue_target(options) + "\n";
  text += "-A " + options.inbound_chain + " -p 17 --dport " + std::to_string(kNatTraversalPort) + " -j " + queue_target(options) + "\n";

  for (const auto& filter : table.filters) {
    if (filter.source.family() != family) continue;
    // Both chains get every filter: outbound packets match the filters whose source is this host,
    // inbound ones the mirrored filters whose destination is this host.
    text += filter_rule(options.outbound_chain, filter, options, family);
    text += filter_rule(options.inbound_chain, filter, options, family);
  }
  // What no filter of the table took: the dynamic filters (consulted only here, so the static
  // rule wins).
  text += "-A " + options.outbound_chain + " -j " + options.dynamic_outbound_chain + "\n";
  text += "-A " + options.inbound_chain + " -j " + options.dynamic_inbound_chain + "\n";
  text += dynamic_rules(family, dynamic, options);
  text += "COMMIT\n";
  return text;
}

Expected<void, std::string> load_chain_rules(IpFamily family, const std::string& rules) {
  return run_with_input({restore_program(family), "--noflush", "--wait"}, rules);
}

Expected<void, std::string> install_chain_rules(const FilterTable& table, const ChainOptions& options,
                                                std::span<const DriverFilter> dynamic) {
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    if (auto loaded = load_chain_rules(family, render_chain_rules(family, table, options, dynamic)); !loaded) {
      return unexpected(loaded.error());
    }
    for (const auto& [hook, chain] : {std::pair{"OUTPUT", options.outbound_chain}, std::pair{"PREROUTING", options.inbound_chain}}) {
      const std::string program = iptables_program(family);
      if (run_with_input({program, "-w", "-t", "raw", "-C", hook, "-j", chain}, "", true)) continue;
      if (auto hooked = run_with_input({program, "-w", "-t", "raw", "-I", hook, "1", "-j", chain}, ""); !hooked) {
        return unexpected("hooking " + chain + " into raw " + hook + ": " + hooked.error());
      }
    }
  }
  return {};
}

Expected<void, std::string> remove_chain_rules(const ChainOptions& options) {
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    const std::string program = iptables_program(family);
    for (const auto& [hook, chain] : {std::pair{"OUTPUT", options.outbound_chain}, std::pair{"PREROUTING", options.inbound_chain}}) {
      while (run_with_input({program, "-w", "-t", "raw", "-D", hook, "-j", chain}, "", true)) {
      }
      (void)run_with_input({program, "-w", "-t", "raw", "-F", chain}, "", true);
      (void)run_with_input({program, "-w", "-t", "raw", "-X", chain}, "", true);
    }
    // No longer jumped to: the static chains are gone.
    for (const auto& chain : {options.dynamic_outbound_chain, options.dynamic_inbound_chain}) {
      (void)run_with_input({program, "-w", "-t", "raw", "-F", chain}, "", true);
      (void)run_with_input({program, "-w", "-t", "raw", "-X", chain}, "", true);
    }
  }
  return {};
}

}  // namespace ward::driver
