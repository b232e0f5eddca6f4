// What a process holds in memory, for the tests that check a secret stays in one process: wardd's
// privsep tests look for a key's bytes in each of its processes. Root reads /proc/<pid>/mem.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ward::test {

// Whether `needle` is anywhere in the writable anonymous memory of `pid` (heap, stacks: where a
// process keeps what it read; /proc/<pid>/maps and mem, as root). Mapped files are left out, and
// so are regions over 256 MiB: ASan's shadow and allocator reserves hold no data and would take
// a minute to read.
inline bool memory_holds(pid_t pid, const std::vector<unsigned char>& needle) {
  if (needle.empty()) return false;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  const int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0) return false;
  constexpr std::uint64_t kLargest = 256ULL << 20;
  constexpr std::size_t kChunk = 4U << 20;
  std::vector<unsigned char> buffer(kChunk + needle.size());
  bool found = false;
  for (std::string line; !found && std::getline(maps, line);) {
    std::uint64_t begin = 0, end = 0, offset = 0, inode = 0;
    char perms[5] = {}, device[16] = {};
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %lx %15s %lu %n", &begin, &end, perms, &offset, device, &inode, &name_at) < 6) continue;
    const std::string name = name_at > 0 ? line.substr(static_cast<std::size_t>(name_at)) : std::string();
    const bool anonymous = inode == 0 && (name.empty() || name == "[heap]" || name.rfind("[stack", 0) == 0);
    if (perms[0] != 'r' || perms[1] != 'w' || !anonymous || end - begin > kLargest) continue;
    std::size_t kept = 0;   // the tail of the last chunk, so a needle across two chunks is found
    for (std::uint64_t at = begin; !found && at < end; at += kChunk) {
      const auto n = ::pread(mem, buffer.data() + kept, std::min<std::uint64_t>(kChunk, end - at), static_cast<off_t>(at));
      if (n <= 0) break;
      const std::size_t have = kept + static_cast<std::size_t>(n);
      found = ::memmem(buffer.data(), have, needle.data(), needle.size()) != nullptr;
      kept = std::min(have, needle.size() - 1);
      std::memmove(buffer.data(), buffer.data() + have - kept, kept);
    }
  }
  ::close(mem);
  return found;
}

// The keys of `keytab` as `klist -k -K` prints them (the bytes of each key block, any enctype;
// KRB5_CONFIG as the caller's).
inline std::vector<std::vector<unsigned char>> keytab_keys(const std::filesystem::path& keytab) {
  std::string listing;
  if (FILE* out = ::popen(("klist -k -K '" + keytab.string() + "' 2>/dev/null").c_str(), "r"); out != nullptr) {
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, out)) > 0;) listing.append(chunk, n);
    ::pclose(out);
  }
  std::vector<std::vector<unsigned char>> keys;
  for (std::size_t at = listing.find("(0x"); at != std::string::npos; at = listing.find("(0x", at + 3)) {
    std::vector<unsigned char> key;
    for (std::size_t i = at + 3; i + 1 < listing.size() && std::isxdigit(static_cast<unsigned char>(listing[i])) != 0; i += 2) {
      key.push_back(static_cast<unsigned char>(std::stoi(listing.substr(i, 2), nullptr, 16)));
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace ward::test
