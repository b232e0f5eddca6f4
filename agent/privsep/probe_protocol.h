// The messages between privsep_test and privsep_probe (a test's own protocol on a privsep Channel).
#pragma once

#include <cstdint>

namespace ward::agent::privsep::probe {

inline constexpr std::uint32_t kReady = 1;     // probe -> test: "ok" once sandboxed, else "error: why"
inline constexpr std::uint32_t kPing = 2;      // test -> probe
inline constexpr std::uint32_t kPong = 3;      // probe -> test: its pid
inline constexpr std::uint32_t kAttempt = 4;   // test -> probe: "execve", "socket-netlink", "open:/path", ...
inline constexpr std::uint32_t kResult = 5;    // probe -> test: "allowed" or the errno's name ("EPERM")
inline constexpr std::uint32_t kReadFd = 6;    // test -> probe, with a descriptor: its first bytes come back
inline constexpr std::uint32_t kCrash = 7;     // test -> probe: abort()

}  // namespace ward::agent::privsep::probe
