// A gtest environment that gives a test binary one Samba AD DC (shared_samba_ad()): started
// before the first test, in whose network the whole process then runs (the DC's name resolves,
// children inherit it), stopped at exit. Register the binary with ward_test(... ONE_PROCESS).
//
//   const auto* const kSambaAd = ::testing::AddGlobalTestEnvironment(new ward::test::SambaAdEnvironment);
//   ... in a test: auto* dc = ward::test::SambaAdEnvironment::dc();
#pragma once

#include <gtest/gtest.h>

#include <iostream>

#include "tests/harness/samba_ad_instance.h"

namespace ward::test {

class SambaAdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto dc = shared_samba_ad();
    ASSERT_TRUE(dc) << dc.error().to_string();
    dc_ = *dc;
    std::cout << "Samba AD DC " << dc_->dc_fqdn() << " (" << dc_->realm() << ") in netns " << dc_->netns()
              << ": " << dc_->timings().describe() << "\n";
  }
  // The DC, or nullptr when it did not start (the environment's failure says why).
  static SambaAdInstance* dc() { return dc_; }

 private:
  static inline SambaAdInstance* dc_ = nullptr;
};

}  // namespace ward::test
