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

// What no filter of the table takes goes on to the dynamic filters (a default response SA's); they
// are queued to Ward, and reloading them alone leaves the table's chains alone.
TEST(ChainRules, DynamicFiltersComeAfterTheTableInTheirOwnChains) {
  FilterTable table;
  table.filters = {filter("10.20.2.30/32", "0.0.0.0/0", 1, PortRange::any(), FilterAction::Permit)};
  DriverFilter out{kFirstDynamicFilterId, *IpPrefix::parse("10.20.2.30/32"), *IpPrefix::parse("10.20.1.10/32"), 0,
                   PortRange::any(), PortRange::any(), FilterAction::Negotiate, 0, {}};
  DriverFilter in = out;
  std::swap(in.source, in.destination);
  const std::vector<DriverFilter> dynamic{out, in};
  ChainOptions options;
  const auto all = render_chain_rules(IpFamily::V4, table, options, dynamic);
  EXPECT_THAT(all, HasSubstr(":WARD-DOUT - [0:0]\n:WARD-DIN - [0:0]\n"));
  const auto permit = all.find("-A WARD-OUT -s 10.20.2.30/32 -p 1 -j RETURN\n");
  const auto jump = all.find("-A WARD-OUT -j WARD-DOUT\n");
  const auto queued = all.find("-A WARD-DOUT -s 10.20.2.30/32 -d 10.20.1.10/32 -j NFQUEUE --queue-num 0\n");
  ASSERT_NE(permit, std::string::npos) << all;
  ASSERT_NE(jump, std::string::npos) << all;
  ASSERT_NE(queued, std::string::npos) << all;
  EXPECT_LT(permit, jump);
  EXPECT_THAT(all, HasSubstr("-A WARD-IN -j WARD-DIN\n"));
  EXPECT_THAT(all, HasSubstr("-A WARD-DIN -s 10.20.1.10/32 -d 10.20.2.30/32 -j NFQUEUE --queue-num 0\n"));
  EXPECT_THAT(all, HasSubstr("-A WARD-DOUT -s 10.20.2.30/32 -d 10.20.1.10/32 -p 6 --tcp-flags SYN,RST SYN -j TCPMSS"));

  const auto alone = render_dynamic_chain_rules(IpFamily::V4, dynamic, options);
  EXPECT_EQ(alone.rfind("*raw\n:WARD-DOUT - [0:0]\n:WARD-DIN - [0:0]\n", 0), 0u) << alone;
  EXPECT_THAT(alone, Not(HasSubstr("WARD-OUT ")));
  EXPECT_THAT(alone, HasSubstr("-A WARD-DIN -s 10.20.1.10/32 -d 10.20.2.30/32 -j NFQUEUE --queue-num 0\n"));
  EXPECT_TRUE(alone.ends_with("COMMIT\n"));
  EXPECT_THAT(render_dynamic_chain_rules(IpFamily::V6, dynamic, options), Not(HasSubstr("10.20.")));
}

}  // namespace
}  // namespace ward::driver
