// The nTSecurityDescriptor codec on descriptors a Samba AD DC returned for CN=IP Security
// (tests/data/ad/sd-corpus), SIDs, and the read grant's place in the DACL.
#include "directory/store/security_descriptor.h"

#include <gtest/gtest.h>

#include "directory/model/test_support.h"
#include "directory/store/sysvol.h"
#include "tests/harness/process.h"

namespace ward::store {
namespace {

std::vector<std::byte> corpus(const std::string& name) {
  const auto text = test::read_text(model::testing::source_dir() + "/tests/data/ad/sd-corpus/" + name);
  std::vector<std::byte> out;
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

TEST(SecurityDescriptor, DaclOnlyDescriptorDecodesAndReencodesExactly) {
  const auto bytes = corpus("ip-security-dacl-only.bin");
  auto sd = decode_security_descriptor(bytes);
  ASSERT_TRUE(sd) << sd.error().to_string();
  ASSERT_TRUE(sd->dacl);
  EXPECT_TRUE(sd->owner.empty());
  EXPECT_TRUE(sd->sacl.empty());
  EXPECT_GT(sd->dacl->aces.size(), 10u);
  EXPECT_EQ(encode_security_descriptor(*sd), bytes);
}

TEST(SecurityDescriptor, FullDescriptorKeepsOwnerGroupAndSacl) {
  auto sd = decode_security_descriptor(corpus("ip-security-full.bin"));
  ASSERT_TRUE(sd) << sd.error().to_string();
  EXPECT_FALSE(sd->owner.empty());
  EXPECT_FALSE(sd->group.empty());
  EXPECT_FALSE(sd->sacl.empty());
  auto again = decode_security_descriptor(encode_security_descriptor(*sd));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(*again, *sd);
}

TEST(SecurityDescriptor, GrantGoesBeforeTheInheritedAcesAndOnlyOnce) {
  auto sd = decode_security_descriptor(corpus("ip-security-dacl-only.bin"));
  ASSERT_TRUE(sd && sd->dacl);
  const Sid au = *Sid::parse("S-1-5-11");
  const auto count = sd->dacl->aces.size();
  ASSERT_TRUE(grant(*sd->dacl, ace::kGenericReadDs, au, ace::kContainerInherit));
  ASSERT_EQ(sd->dacl->aces.size(), count + 1);
  bool seen_inherited = false;
  bool found = false;
  for (const auto& entry : sd->dacl->aces) {
    if ((entry.flags & ace::kInherited) != 0) seen_inherited = true;
    if (entry.allowed_sid() == au && entry.flags == ace::kContainerInherit) {
      EXPECT_FALSE(seen_inherited) << "the new ACE follows an inherited one";
      EXPECT_EQ(entry.allowed_mask(), ace::kGenericReadDs);
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_FALSE(grant(*sd->dacl, ace::kReadProperty, au, ace::kContainerInherit)) << "a narrower grant is there already";
  auto back = decode_security_descriptor(encode_security_descriptor(*sd));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, *sd);
}

TEST(SecurityDescriptor, BrokenInputNamesFieldAndOffset) {
  auto bytes = corpus("ip-security-dacl-only.bin");
  bytes.resize(40);
  auto cut = decode_security_descriptor(bytes);
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().field.find("ACL"), std::string::npos) << cut.error().to_string();
  std::vector<std::byte> wrong_revision(20, std::byte{0});
  wrong_revision[0] = std::byte{2};
  EXPECT_EQ(decode_security_descriptor(wrong_revision).error().field, "revision");
}

TEST(Sid, TextAndBinaryForms) {
  auto domain = decode_sid(corpus("domain-sid.bin"));
  ASSERT_TRUE(domain) << domain.error().to_string();
  EXPECT_EQ(domain->to_string().rfind("S-1-5-21-", 0), 0u);
  EXPECT_EQ(domain->encode(), corpus("domain-sid.bin"));
  EXPECT_EQ(Sid::parse("S-1-5-11")->encode().size(), 12u);
  EXPECT_EQ(Sid::parse("S-1-5-32-544")->to_string(), "S-1-5-32-544");
  EXPECT_FALSE(Sid::parse("S-1"));
  EXPECT_FALSE(Sid::parse("S-1-5-x"));
  EXPECT_FALSE(Sid::parse("1-5-11"));
}

TEST(GptIni, VersionIsReadAndReplacedKeepingOtherLines) {
  EXPECT_EQ(gpt_ini(0), "[General]\r\nVersion=0\r\n");
  EXPECT_EQ(gpt_version(gpt_ini(65537)), 65537u);
  const std::string windows = "[General]\r\nVersion=3\r\ndisplayName=New Group Policy Object\r\n";
  EXPECT_EQ(with_gpt_version(windows, 4), "[General]\r\nVersion=4\r\ndisplayName=New Group Policy Object\r\n");
  EXPECT_EQ(with_gpt_version("[General]\ndisplayName=x\n", 2), "[General]\r\nVersion=2\r\ndisplayName=x\r\n");
  EXPECT_EQ(with_gpt_version("", 1), "[General]\r\nVersion=1\r\n");
  EXPECT_FALSE(gpt_version("[Other]\r\nVersion=3\r\n"));
  EXPECT_FALSE(gpt_version("[General]\r\nVersion=3x\r\n"));
}

TEST(UncPath, ParsesServerShareAndParts) {
  auto path = UncPath::parse("\\\\ward.test\\SysVol\\ward.test\\Policies\\{X}");
  ASSERT_TRUE(path) << path.error();
  EXPECT_EQ(path->server, "ward.test");
  EXPECT_EQ(path->share, "SysVol");
  EXPECT_EQ(path->parts, (std::vector<std::string>{"ward.test", "Policies", "{X}"}));
  EXPECT_EQ(path->child("GPT.INI").to_string(), "\\\\ward.test\\SysVol\\ward.test\\Policies\\{X}\\GPT.INI");
  EXPECT_FALSE(UncPath::parse("ward.test\\SysVol"));
  EXPECT_FALSE(UncPath::parse("\\\\server"));
  EXPECT_FALSE(UncPath::parse("\\\\server\\share\\..\\etc"));
}

}  // namespace
}  // namespace ward::store
