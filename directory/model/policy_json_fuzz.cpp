// Fuzz target: JSON policy import followed by validation and compilation must never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "directory/model/compile.h"
#include "directory/model/policy_json.h"
#include "directory/model/validation.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = ward::model::policy_from_json(text);
  if (!policy) return 0;
  const auto problems = ward::model::validate(*policy);
  if (ward::model::has_errors(problems)) return 0;
  ward::model::HostContext host;
  host.addresses = {*ward::model::IpAddress::parse("10.20.1.10"), *ward::model::IpAddress::parse("2001:db8::10")};
  (void)ward::model::compile(*policy, host);
  return 0;
}
