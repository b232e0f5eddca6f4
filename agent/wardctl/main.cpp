// wardctl — see wardctl.h and `wardctl --help`.
#include <chrono>
#include <iostream>

#include "agent/wardctl/wardctl.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return ward::agent::wardctl::run(args, std::cout, std::cerr, now.count());
}
