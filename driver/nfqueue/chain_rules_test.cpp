#include "driver/nfqueue/chain_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ward::driver {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

DriverFilter filter(const char* source, const char* destination, std::uint8_t protocol, PortRange dport, FilterAction action) {
  return {1, *IpPrefix::parse(source), *IpPrefix::parse(destination), protocol, PortRange::any(), dport, action, 0, {}};
}

TEST(ChainRules, RendersFiltersInPrecedenceOrderPerFamily) {
  FilterTable table;
  table.filters = {filter("10.20.1.10/32", "10.20.2.0/24", 6, PortRange::single(445), FilterAction::Block),
                   filter("2001:db8::1/128", "::/0", 0, PortRange::any(), FilterAction::Negotiate),
                   filter("10.20.1.10/32", "0.0.0.0/0", 0, PortRange::any(), FilterAction::Negotiate),
                   filter("0.0.0.0/0", "0.0.0.0/0", 17, PortRange{1024, 65535}, FilterAction::Permit)};
  ChainOptions options;
  const auto v4 = render_chain_rules(IpFamily::V4, table, options);
  EXPECT_THAT(v4, HasSubstr("*raw\n:WARD-OUT - [0:0]\n:WARD-IN - [0:0]\n"));
  const auto block = v4.find("-A WARD-OUT -s 10.20.1.10/32 -d 10.20.2.0/24 -p 6 --dport 445 -j DROP\n");
  const auto negotiate = v4.find("-A WARD-OUT -s 10.20.1.10/32 -j NFQUEUE --queue-num 0\n");
  const auto permit = v4.find("-A WARD-OUT -p 17 --dport 1024:65535 -j RETURN\n");
  ASSERT_NE(block, std::string::npos) << v4;
  ASSERT_NE(negotiate, std::string::npos) << v4;
  ASSERT_NE(permit, std::string::npos) << v4;
  EXPECT_LT(block, negotiate);
  EXPECT_LT(negotiate, permit);
  EXPECT_THAT(v4, Not(HasSubstr("2001:db8")));
  EXPECT_THAT(v4, HasSubstr("-A WARD-IN -p 50 -j NFQUEUE --queue-num 0\n"));
  EXPECT_THAT(v4, HasSubstr("-A WARD-IN -i lo -j RETURN\n"));
  // Later UDP fragments pass; the first fragment (with the ports) is classified.
  const auto fragments = v4.find("-A WARD-IN -p 17 -f -j RETURN\n");
  ASSERT_NE(fragments, std::string::npos) << v4;
  EXPECT_LT(fragments, v4.find("-A WARD-IN -s 10.20.1.10/32 -j NFQUEUE"));
  EXPECT_TRUE(v4.ends_with("COMMIT\n"));

  const auto v6 = render_chain_rules(IpFamily::V6, table, options);
  EXPECT_THAT(v6, HasSubstr("-A WARD-IN -s 2001:db8::1/128 -j NFQUEUE --queue-num 0\n"));
  EXPECT_THAT(v6, Not(HasSubstr("10.20.")));
  EXPECT_THAT(v6, HasSubstr("-A WARD-IN -m ah -j NFQUEUE --queue-num 0\n"));
  EXPECT_THAT(v4, HasSubstr("-A WARD-IN -p 51 -j NFQUEUE --queue-num 0\n"));
}

TEST(ChainRules, SpreadsOverSeveralQueues) {
  FilterTable table;
  table.filters = {filter("10.0.0.1/32", "0.0.0.0/0", 0, PortRange::any(), FilterAction::Negotiate)};
  ChainOptions options;
  options.first_queue = 8;
  options.queue_count = 4;
  EXPECT_THAT(render_chain_rules(IpFamily::V4, table, options), HasSubstr("-j NFQUEUE --queue-balance 8:11\n"));
}

}  // namespace
}  // namespace ward::driver
