// Privsep processes as tests find them in /proc: a process's status fields, and the child of a
// wardd whose command line says `--privsep-child ROLE` ("ike", "keys", "fetch"). For tests only.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

namespace ward::agent::privsep::testing {

// /proc/<pid>/status as name -> value ("CapEff" -> "0000000000000000").
inline std::map<std::string, std::string> proc_status(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    fields[line.substr(0, colon)] = value;
  }
  return fields;
}

// wardd's child whose command line says --privsep-child ROLE; -1 when there is none.
inline pid_t privsep_child_of(pid_t wardd, const std::string& role) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  const std::string wanted = std::string("--privsep-child") + '\0' + role + '\0';
  while (const dirent* entry = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::strtol(entry->d_name, nullptr, 10));
    if (pid <= 0) continue;
    const auto status = proc_status(pid);
    if (status.count("PPid") == 0 || status.at("PPid") != std::to_string(wardd)) continue;
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (args.find(wanted) != std::string::npos) found = pid;
  }
  closedir(proc);
  return found;
}

}  // namespace ward::agent::privsep::testing
