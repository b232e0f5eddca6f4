// The harness itself: real slapd and krb5kdc start, answer, and are gone afterwards.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/harness/kdc_instance.h"
#include "tests/harness/slapd_instance.h"

namespace ward::test {
namespace {

TEST(SlapdInstance, StartsAnswersLoadsLdifAndCleansUp) {
  std::filesystem::path dir;
  pid_t pid = -1;
  {
    SlapdOptions options;
    options.tls = true;
    auto slapd = SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    dir = (*slapd)->dir();
    pid = (*slapd)->pid();
    EXPECT_GT((*slapd)->port(), 0);
    EXPECT_GT((*slapd)->ldaps_port(), 0);
    EXPECT_TRUE(std::filesystem::exists((*slapd)->ca_certificate()));
    auto added = (*slapd)->add_ldif_text("dn: ou=People,dc=ward,dc=test\nobjectClass: organizationalUnit\nou: People\n");
    EXPECT_TRUE(added) << added.error().to_string();
    // A duplicate add fails with a clear error naming the command.
    auto again = (*slapd)->add_ldif_text("dn: ou=People,dc=ward,dc=test\nobjectClass: organizationalUnit\nou: People\n");
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().what.find("ldapadd"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_NE(::kill(pid, 0), 0) << "slapd pid " << pid << " still exists";
}

TEST(SlapdInstance, BadSchemaGivesClearError) {
  SlapdOptions options;
  options.extra_schemas.push_back("/nonexistent/ward-schema.ldif");
  auto slapd = SlapdInstance::start(options);
  ASSERT_FALSE(slapd);
  EXPECT_NE(slapd.error().to_string().find("/nonexistent/ward-schema.ldif"), std::string::npos);
}

TEST(KdcInstance, IssuesTicketsFromExtractedKeytab) {
  std::filesystem::path dir;
  {
    auto kdc = KdcInstance::start({});
    ASSERT_TRUE(kdc) << kdc.error().to_string();
    dir = (*kdc)->dir();
    ASSERT_TRUE((*kdc)->add_principal("host/client.ward.test"));
    const auto keytab = (*kdc)->dir() / "client.keytab";
    auto extracted = (*kdc)->extract_keytab("host/client.ward.test", keytab);
    ASSERT_TRUE(extracted) << extracted.error().to_string();
    auto kinit = run_command({"/usr/bin/kinit", "-k", "-t", keytab.string(), "host/client.ward.test@WARD.TEST"},
                             {{"KRB5_CONFIG", (*kdc)->krb5_config().string()}, {"KRB5CCNAME", "MEMORY:kinit-test"}},
                             (*kdc)->dir() / "kinit.log");
    EXPECT_TRUE(kinit) << kinit.error().to_string();
    auto missing = (*kdc)->extract_keytab("host/nobody.ward.test", (*kdc)->dir() / "nobody.keytab");
    EXPECT_FALSE(missing);
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace ward::test
