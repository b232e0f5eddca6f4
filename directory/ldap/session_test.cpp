// Session against real slapd (and krb5kdc for GSSAPI), started by the test harness.
#include "directory/ldap/kerberos_client.h"
#include "directory/ldap/root_dse.h"
#include "directory/ldap/session.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "tests/harness/kdc_instance.h"
#include "tests/harness/process.h"
#include "tests/harness/slapd_instance.h"
#include "tests/harness/test_ca.h"

namespace ward::ldap {
namespace {

using test::SlapdInstance;
using test::SlapdOptions;
using test::TempDir;

constexpr int kPeople = 250;
constexpr const char* kAliceDn = "uid=alice,ou=People,dc=ward,dc=test";
constexpr const char* kAlicePassword = "alice-test-password";  // test-only credential

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = TempDir::create("ward-ldap-test");
    ASSERT_TRUE(dir) << dir.error().to_string();
    data_dir_ = new TempDir(std::move(*dir));
    const auto ldif = data_dir_->path() / "people.ldif";
    {
      std::ofstream out(ldif);
      out << "dn: ou=People,dc=ward,dc=test\nobjectClass: organizationalUnit\nou: People\n\n";
      out << "dn: " << kAliceDn << "\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\nsn: Test\n"
          << "userPassword: " << kAlicePassword << "\n\n";
      for (int i = 0; i < kPeople; ++i) {
        out << "dn: uid=p" << i << ",ou=People,dc=ward,dc=test\nobjectClass: inetOrgPerson\nuid: p" << i
            << "\ncn: Person " << i << "\nsn: P\nemployeeType: paged\n\n";
      }
    }
    SlapdOptions options;
    options.tls = true;
    options.initial_ldif = {ldif};
    auto slapd = SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = slapd->release();
  }
  static void TearDownTestSuite() {
    delete slapd_;
    slapd_ = nullptr;
    delete data_dir_;
    data_dir_ = nullptr;
  }

  static SessionOptions admin_options() {
    SessionOptions options;
    options.uris = {slapd_->ldap_uri()};
    options.bind = SimpleBind{slapd_->options().root_dn, model::Secret(slapd_->options().root_password)};
    return options;
  }

  static inline SlapdInstance* slapd_ = nullptr;
  static inline TempDir* data_dir_ = nullptr;
};

// A loopback port nobody listens on: bound and closed again.
std::string dead_uri() {
  auto port = test::free_loopback_port();
  return "ldap://127.0.0.1:" + std::to_string(port ? *port : 1);
}

TEST_F(SessionTest, SimpleBindWithGoodPassword) {
  SessionOptions options;
  options.uris = {slapd_->ldap_uri()};
  options.bind = SimpleBind{kAliceDn, model::Secret(kAlicePassword)};
  auto session = Session::connect(options);
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_EQ((*session)->round_trips(), 1u);
  auto me = (*session)->whoami();
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(*me, std::string("dn:") + kAliceDn);
  EXPECT_EQ((*session)->round_trips(), 2u);
}

TEST_F(SessionTest, SimpleBindWithBadPasswordNamesServerAndDnButNotPassword) {
  SessionOptions options;
  options.uris = {slapd_->ldap_uri()};
  const std::string wrong = "not-alices-password";
  options.bind = SimpleBind{kAliceDn, model::Secret(wrong)};
  auto session = Session::connect(options);
  ASSERT_FALSE(session);
  const LdapError& e = session.error();
  EXPECT_EQ(e.result_code, result_code::kInvalidCredentials);
  EXPECT_EQ(e.uri, slapd_->ldap_uri());
  EXPECT_EQ(e.dn, kAliceDn);
  EXPECT_EQ(e.operation, "simple bind");
  EXPECT_EQ(e.to_string().find(wrong), std::string::npos);
}

TEST_F(SessionTest, EmptyPasswordIsRefusedBeforeSending) {
  SessionOptions options;
  options.uris = {slapd_->ldap_uri()};
  options.bind = SimpleBind{kAliceDn, model::Secret("")};
  auto session = Session::connect(options);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().result_code, result_code::kParamError);
}

TEST_F(SessionTest, BadPasswordDoesNotWalkOtherServers) {
  SessionOptions options;
  options.uris = {slapd_->ldap_uri(), slapd_->ldap_uri("localhost")};
  options.bind = SimpleBind{kAliceDn, model::Secret("wrong")};
  auto session = Session::connect(options);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().uri, slapd_->ldap_uri());
}

TEST_F(SessionTest, FailsOverFromDeadUriToLiveOne) {
  SessionOptions options = admin_options();
  const std::string dead = dead_uri();
  options.uris = {dead, slapd_->ldap_uri()};
  options.network_timeout = std::chrono::seconds(2);
  auto session = Session::connect(options);
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_EQ((*session)->uri(), slapd_->ldap_uri());
  EXPECT_EQ((*session)->uri_index(), 1u);
  ASSERT_EQ((*session)->failed_attempts().size(), 1u);
  EXPECT_EQ((*session)->failed_attempts()[0].uri, dead);
  EXPECT_EQ((*session)->failed_attempts()[0].result_code, result_code::kServerDown);
  EXPECT_EQ((*session)->round_trips(), 1u);  // only the bind that got an answer
}

// A server that accepts the TCP connection but never answers: the bind gives up after the
// operation timeout and the next URI is tried.
TEST_F(SessionTest, SilentServerTimesOutAndFailsOver) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string silent = "ldap://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  SessionOptions options = admin_options();
  options.uris = {silent, slapd_->ldap_uri()};
  options.operation_timeout = std::chrono::milliseconds(500);
  const auto started = std::chrono::steady_clock::now();
  auto session = Session::connect(options);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ::close(fd);
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_EQ((*session)->uri_index(), 1u);
  ASSERT_EQ((*session)->failed_attempts().size(), 1u);
  EXPECT_EQ((*session)->failed_attempts()[0].result_code, result_code::kTimeout)
      << (*session)->failed_attempts()[0].to_string();
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(SessionTest, AllUrisDeadReportsEach) {
  SessionOptions options = admin_options();
  const std::string dead1 = dead_uri();
  const std::string dead2 = dead_uri();
  options.uris = {dead1, dead2};
  options.network_timeout = std::chrono::seconds(2);
  auto session = Session::connect(options);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().uri, dead2);
  EXPECT_NE(session.error().message.find(dead1), std::string::npos) << session.error().to_string();
}

TEST_F(SessionTest, StartTlsWithRightCaWorks) {
  SessionOptions options = admin_options();
  options.uris = {slapd_->ldap_uri()};
  options.tls = TlsMode::kStartTls;
  options.ca_file = slapd_->ca_certificate().string();
  auto session = Session::connect(options);
  ASSERT_TRUE(session) << session.error().to_string() << "\n" << test::file_tail(slapd_->log_file());
  EXPECT_EQ((*session)->round_trips(), 2u);  // StartTLS + bind
  auto me = (*session)->whoami();
  ASSERT_TRUE(me) << me.error().to_string();
}

TEST_F(SessionTest, StartTlsWithWrongCaFailsClearly) {
  auto other = test::make_test_ca(data_dir_->path(), "other");
  ASSERT_TRUE(other) << other.error().to_string();
  SessionOptions options = admin_options();
  options.uris = {slapd_->ldap_uri()};
  options.tls = TlsMode::kStartTls;
  options.ca_file = other->certificate.string();
  auto session = Session::connect(options);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().operation, "StartTLS");
  EXPECT_EQ(session.error().result_code, result_code::kConnectError) << session.error().to_string();
  EXPECT_NE(session.error().message.find("TLS handshake failed"), std::string::npos) << session.error().to_string();
  EXPECT_NE(session.error().message.find(other->certificate.string()), std::string::npos);
}

TEST_F(SessionTest, TlsWithoutCaFileIsRefused) {
  SessionOptions options = admin_options();
  options.tls = TlsMode::kStartTls;
  auto session = Session::connect(options);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().operation, "TLS setup");
}

TEST_F(SessionTest, LdapsWithRightCaWorksAndWrongCaFails) {
  SessionOptions options = admin_options();
  options.uris = {slapd_->ldaps_uri()};
  options.ca_file = slapd_->ca_certificate().string();
  auto good = Session::connect(options);
  ASSERT_TRUE(good) << good.error().to_string();
  EXPECT_EQ((*good)->round_trips(), 1u);

  auto other = test::make_test_ca(data_dir_->path(), "other-ldaps");
  ASSERT_TRUE(other);
  options.ca_file = other->certificate.string();
  auto bad = Session::connect(options);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().result_code, result_code::kServerDown) << bad.error().to_string();
  EXPECT_NE(bad.error().message.find("TLS handshake failed"), std::string::npos) << bad.error().to_string();
}

TEST_F(SessionTest, PagedSearchReturnsAllEntriesOnePagePerRoundTrip) {
  auto session = Session::connect(admin_options());
  ASSERT_TRUE(session) << session.error().to_string();
  const auto before = (*session)->round_trips();
  SearchRequest request;
  request.base = "ou=People,dc=ward,dc=test";
  request.scope = Scope::kOneLevel;
  request.filter = "(employeeType=paged)";
  request.attributes = {"uid", "cn"};
  request.page_size = 100;
  auto entries = (*session)->search(request);
  ASSERT_TRUE(entries) << entries.error().to_string();
  EXPECT_EQ(entries->size(), static_cast<std::size_t>(kPeople));
  EXPECT_EQ((*session)->round_trips() - before, 3u);  // 100 + 100 + 50
  std::set<std::string> uids;
  for (const auto& e : *entries) uids.insert(e.first("UID").value_or(""));
  EXPECT_EQ(uids.size(), static_cast<std::size_t>(kPeople));
  EXPECT_TRUE(uids.count("p249"));
}

TEST_F(SessionTest, SearchOfMissingBaseNamesIt) {
  auto session = Session::connect(admin_options());
  ASSERT_TRUE(session);
  auto entries = (*session)->search({"ou=Nowhere,dc=ward,dc=test", Scope::kBase, "(objectClass=*)", {}, 0});
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().result_code, result_code::kNoSuchObject);
  EXPECT_EQ(entries.error().dn, "ou=Nowhere,dc=ward,dc=test");
  EXPECT_EQ(entries.error().operation, "search");
}

TEST_F(SessionTest, AddModifyReplaceDeleteRoundTrip) {
  auto session = Session::connect(admin_options());
  ASSERT_TRUE(session);
  const std::string dn = "cn=Crud Test,dc=ward,dc=test";
  auto added = (*session)->add(dn, {{"objectClass", {"person"}}, {"cn", {"Crud Test"}}, {"sn", {"one"}}});
  ASSERT_TRUE(added) << added.error().to_string();
  auto duplicate = (*session)->add(dn, {{"objectClass", {"person"}}, {"cn", {"Crud Test"}}, {"sn", {"one"}}});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().result_code, result_code::kAlreadyExists);
  auto modified = (*session)->modify(dn, {{Modification::Op::kReplace, "sn", {"two", "three"}},
                                          {Modification::Op::kAdd, "description", {std::string("bin\0ary", 7)}}});
  ASSERT_TRUE(modified) << modified.error().to_string();
  auto read = (*session)->search({dn, Scope::kBase, "(objectClass=*)", {"sn", "description"}, 0});
  ASSERT_TRUE(read) << read.error().to_string();
  ASSERT_EQ(read->size(), 1u);
  const auto* sn = (*read)[0].values("sn");
  ASSERT_NE(sn, nullptr);
  EXPECT_EQ(std::set<std::string>(sn->begin(), sn->end()), (std::set<std::string>{"two", "three"}));
  EXPECT_EQ((*read)[0].first("description"), std::string("bin\0ary", 7));
  ASSERT_TRUE((*session)->remove(dn));
  auto gone = (*session)->remove(dn);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().result_code, result_code::kNoSuchObject);
  EXPECT_EQ(gone.error().dn, dn);
}

// slapd's root DSE has no supportedCapabilities: the kind is OpenLDAP (AD is told apart by
// LDAP_CAP_ACTIVE_DIRECTORY_OID there; tests/harness/samba_ad_test.cpp checks that side).
TEST_F(SessionTest, RootDseTellsOpenLdap) {
  auto session = Session::connect(admin_options());
  ASSERT_TRUE(session) << session.error().to_string();
  auto root = read_root_dse(**session);
  ASSERT_TRUE(root) << root.error().to_string();
  EXPECT_EQ(root->kind, DirectoryKind::kOpenLdap);
  EXPECT_EQ(directory_kind_name(root->kind), "OpenLDAP");
  EXPECT_NE(std::find(root->naming_contexts.begin(), root->naming_contexts.end(), "dc=ward,dc=test"),
            root->naming_contexts.end());
  EXPECT_TRUE(root->default_naming_context.empty());
  EXPECT_TRUE(root->supports_control("1.2.840.113556.1.4.319"));  // paged results
}

// Without the syncprov overlay the server neither lists the sync control nor runs the search.
TEST_F(SessionTest, SyncPersistIsRefusedWithoutSyncprov) {
  auto session = Session::connect(admin_options());
  ASSERT_TRUE(session) << session.error().to_string();
  auto offered = (*session)->supports_control(kSyncRequestControlOid);
  ASSERT_TRUE(offered) << offered.error().to_string();
  EXPECT_FALSE(*offered);
  int events = 0;
  auto watched = (*session)->sync_persist({"ou=People,dc=ward,dc=test"}, [&](SyncEvent, std::string_view) { ++events; },
                                          [] { return true; });
  ASSERT_FALSE(watched);
  EXPECT_EQ(watched.error().dn, "ou=People,dc=ward,dc=test");
  EXPECT_NE(watched.error().result_code, result_code::kSuccess) << watched.error().to_string();
  EXPECT_EQ(events, 0);
}

// With syncprov: the refresh phase ends once, then each change in scope arrives as one event;
// keep_going() false abandons the search and returns normally.
TEST(SessionSync, RefreshAndPersistReportsChangesInScope) {
  SlapdOptions options;
  options.syncprov = true;
  auto slapd = SlapdInstance::start(options);
  ASSERT_TRUE(slapd) << slapd.error().to_string();
  ASSERT_TRUE((*slapd)->add_ldif_text("dn: ou=Watched,dc=ward,dc=test\nobjectClass: organizationalUnit\nou: Watched\n\n"
                                      "dn: ou=Other,dc=ward,dc=test\nobjectClass: organizationalUnit\nou: Other\n\n"));
  SessionOptions session_options;
  session_options.uris = {(*slapd)->ldap_uri()};
  session_options.bind = SimpleBind{(*slapd)->options().root_dn, model::Secret((*slapd)->options().root_password)};
  auto watcher = Session::connect(session_options);
  ASSERT_TRUE(watcher) << watcher.error().to_string();
  auto writer = Session::connect(session_options);
  ASSERT_TRUE(writer) << writer.error().to_string();
  auto offered = (*watcher)->supports_control(kSyncRequestControlOid);
  ASSERT_TRUE(offered) << offered.error().to_string();
  EXPECT_TRUE(*offered);

  int refresh_done = 0;
  std::vector<std::string> changed;
  int step = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  SyncWatchRequest request{"ou=Watched,dc=ward,dc=test", Scope::kSubtree, "(objectClass=*)", std::chrono::milliseconds(20)};
  auto watched = (*watcher)->sync_persist(
      request,
      [&](SyncEvent event, std::string_view dn) {
        if (event == SyncEvent::kRefreshDone) ++refresh_done;
        else changed.emplace_back(dn);
      },
      [&] {
        if (std::chrono::steady_clock::now() > deadline) return false;
        if (refresh_done == 1 && step == 0) {
          ++step;  // out of scope: no event; then one in scope
          EXPECT_TRUE((*writer)->modify("ou=Other,dc=ward,dc=test", {{Modification::Op::kReplace, "description", {"x"}}}));
          EXPECT_TRUE((*writer)->modify("ou=Watched,dc=ward,dc=test", {{Modification::Op::kReplace, "description", {"y"}}}));
        } else if (step == 1 && changed.size() == 1) {
          ++step;
          EXPECT_TRUE((*writer)->add("cn=new,ou=Watched,dc=ward,dc=test",
                                     {{"objectClass", {"organizationalRole"}}, {"cn", {"new"}}}));
        } else if (step == 2 && changed.size() == 2) {
          return false;
        }
        return true;
      });
  ASSERT_TRUE(watched) << watched.error().to_string();
  EXPECT_EQ(refresh_done, 1);
  ASSERT_EQ(changed.size(), 2u);
  EXPECT_EQ(changed[0], "ou=Watched,dc=ward,dc=test");
  EXPECT_EQ(changed[1], "cn=new,ou=Watched,dc=ward,dc=test");

  // The server going away ends the watch with an error.
  auto again = Session::connect(session_options);
  ASSERT_TRUE(again) << again.error().to_string();
  bool stopped = false;
  auto lost = (*again)->sync_persist(request, [&](SyncEvent event, std::string_view) {
    if (event == SyncEvent::kRefreshDone && !stopped) {
      stopped = true;
      (*slapd)->stop();
    }
  }, [&] { return std::chrono::steady_clock::now() < deadline; });
  ASSERT_FALSE(lost);
  EXPECT_TRUE(stopped);
  EXPECT_LT(lost.error().result_code, 0) << lost.error().to_string();
}

// SASL/GSSAPI: a host principal's keytab gets a ticket for ldap/localhost from a real KDC;
// slapd maps the authenticated identity to the computer's entry with olcAuthzRegexp.
TEST(SessionGssapi, BindsWithHostKeytabAndWhoamiShowsHost) {
  auto kdc = test::KdcInstance::start({});
  ASSERT_TRUE(kdc) << kdc.error().to_string();
  test::ScopedEnv krb5_config("KRB5_CONFIG", (*kdc)->krb5_config().string());
  const auto service_keytab = (*kdc)->dir() / "ldap.keytab";
  const auto host_keytab = (*kdc)->dir() / "host.keytab";
  ASSERT_TRUE((*kdc)->add_principal("ldap/localhost"));
  ASSERT_TRUE((*kdc)->add_principal("host/client.ward.test"));
  ASSERT_TRUE((*kdc)->extract_keytab("ldap/localhost", service_keytab));
  ASSERT_TRUE((*kdc)->extract_keytab("host/client.ward.test", host_keytab));

  SlapdOptions options;
  test::SlapdSaslSettings sasl;
  sasl.sasl_host = "localhost";
  sasl.realm = (*kdc)->realm();
  sasl.keytab = service_keytab;
  sasl.krb5_config = (*kdc)->krb5_config();
  sasl.authz_regexps = {{"^uid=host/([^,]+)(,cn=ward\\.test)?,cn=gssapi,cn=auth$", "cn=host/$1,ou=Computers,dc=ward,dc=test"}};
  options.sasl = sasl;
  auto slapd = SlapdInstance::start(options);
  ASSERT_TRUE(slapd) << slapd.error().to_string();

  SessionOptions session_options;
  session_options.uris = {(*slapd)->ldap_uri("localhost")};
  session_options.bind = GssapiBind{host_keytab.string(), "host/client.ward.test@" + (*kdc)->realm()};
  auto session = Session::connect(session_options);
  ASSERT_TRUE(session) << session.error().to_string() << "\nslapd log:\n" << test::file_tail((*slapd)->log_file());
  EXPECT_GE((*session)->round_trips(), 2u);
  RecordProperty("gssapi_bind_round_trips", static_cast<int>((*session)->round_trips()));
  auto me = (*session)->whoami();
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(*me, "dn:cn=host/client.ward.test,ou=computers,dc=ward,dc=test");

  // A process without the keytab (wardd's fetcher) binds with a TGT handed over as bytes, and a
  // newer one replaces it in place (the ccache is never destroyed under a concurrent bind).
  const std::string principal = "host/client.ward.test@" + (*kdc)->realm();
  auto tgt = KerberosClientCredentials::acquire(host_keytab.string(), principal);
  ASSERT_TRUE(tgt) << tgt.error().step << ": " << tgt.error().message;
  auto first = (*tgt)->marshal_initial_ticket();
  ASSERT_TRUE(first);
  auto held = KerberosClientCredentials::adopt(first->reveal(), "MEMORY:ward-session-test-adopted");
  ASSERT_TRUE(held) << held.error().step << ": " << held.error().message;
  const auto end = (*held)->initial_ticket_end();
  ASSERT_TRUE(end) << end.error().message;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(*end, now);
  EXPECT_LE(*end, now + 25 * 3600);
  auto again = KerberosClientCredentials::acquire(host_keytab.string(), principal);
  ASSERT_TRUE(again);
  auto second = (*again)->marshal_initial_ticket();
  ASSERT_TRUE(second);
  ASSERT_TRUE((*held)->replace(second->reveal()));
  SessionOptions adopted_options = session_options;
  adopted_options.bind = GssapiBind{"", principal, (*held)->ccache_name()};
  auto adopted = Session::connect(adopted_options);
  ASSERT_TRUE(adopted) << adopted.error().to_string();
  EXPECT_EQ((*adopted)->whoami().value_or(""), "dn:cn=host/client.ward.test,ou=computers,dc=ward,dc=test");
  auto garbage = (*held)->replace("not a ticket");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().step, "unmarshal the ticket");

  // An IP address in the URI cannot name the service principal (ldap/<host>): said before Kerberos.
  session_options.uris = {(*slapd)->ldap_uri()};
  auto by_address = Session::connect(session_options);
  ASSERT_FALSE(by_address);
  EXPECT_NE(by_address.error().message.find("names the server by its IP address; Kerberos (GSSAPI) needs its host "
                                            "name"),
            std::string::npos)
      << by_address.error().to_string();
  session_options.uris = {(*slapd)->ldap_uri("localhost")};

  // A principal that is not in the keytab fails with the Kerberos reason, before any LDAP.
  session_options.bind = GssapiBind{host_keytab.string(), "host/other.ward.test@" + (*kdc)->realm()};
  auto wrong = Session::connect(session_options);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().operation, "SASL/GSSAPI bind");
  EXPECT_NE(wrong.error().message.find("kerberos"), std::string::npos) << wrong.error().to_string();
}

// An empty keytab binds with the caller's own tickets (after kinit): here a FILE ccache in a
// temp dir, filled by `kinit -k -t`, is made the default with KRB5CCNAME.
TEST(SessionGssapi, BindsWithTicketsFromDefaultCcache) {
  auto kdc = test::KdcInstance::start({});
  ASSERT_TRUE(kdc) << kdc.error().to_string();
  test::ScopedEnv krb5_config("KRB5_CONFIG", (*kdc)->krb5_config().string());
  const auto service_keytab = (*kdc)->dir() / "ldap.keytab";
  const auto host_keytab = (*kdc)->dir() / "host.keytab";
  ASSERT_TRUE((*kdc)->add_principal("ldap/localhost"));
  ASSERT_TRUE((*kdc)->add_principal("host/client.ward.test"));
  ASSERT_TRUE((*kdc)->extract_keytab("ldap/localhost", service_keytab));
  ASSERT_TRUE((*kdc)->extract_keytab("host/client.ward.test", host_keytab));

  SlapdOptions options;
  test::SlapdSaslSettings sasl;
  sasl.sasl_host = "localhost";
  sasl.realm = (*kdc)->realm();
  sasl.keytab = service_keytab;
  sasl.krb5_config = (*kdc)->krb5_config();
  sasl.authz_regexps = {{"^uid=host/([^,]+)(,cn=ward\\.test)?,cn=gssapi,cn=auth$", "cn=host/$1,ou=Computers,dc=ward,dc=test"}};
  options.sasl = sasl;
  auto slapd = SlapdInstance::start(options);
  ASSERT_TRUE(slapd) << slapd.error().to_string();

  auto temp = TempDir::create("ward-ccache");
  ASSERT_TRUE(temp) << temp.error().to_string();
  const auto ccache = "FILE:" + (temp->path() / "ccache").string();
  const std::string principal = "host/client.ward.test@" + (*kdc)->realm();
  test::ScopedEnv ccache_env("KRB5CCNAME", ccache);

  SessionOptions session_options;
  session_options.uris = {(*slapd)->ldap_uri("localhost")};
  session_options.bind = GssapiBind{"", ""};

  // Before kinit: refused with the reason, before any LDAP exchange.
  auto no_ticket = Session::connect(session_options);
  ASSERT_FALSE(no_ticket);
  EXPECT_EQ(no_ticket.error().operation, "SASL/GSSAPI bind");
  EXPECT_NE(no_ticket.error().message.find("no Kerberos ticket in the default credential cache"), std::string::npos)
      << no_ticket.error().to_string();
  EXPECT_NE(no_ticket.error().message.find("run kinit"), std::string::npos) << no_ticket.error().to_string();

  auto kinit = test::run_command({"/usr/bin/kinit", "-k", "-t", host_keytab.string(), "-c", ccache, principal},
                                 {{"KRB5_CONFIG", (*kdc)->krb5_config().string()}}, temp->path() / "kinit.log");
  ASSERT_TRUE(kinit) << kinit.error().to_string() << "\n" << test::file_tail(temp->path() / "kinit.log");

  auto session = Session::connect(session_options);
  ASSERT_TRUE(session) << session.error().to_string() << "\nslapd log:\n" << test::file_tail((*slapd)->log_file());
  auto me = (*session)->whoami();
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(*me, "dn:cn=host/client.ward.test,ou=computers,dc=ward,dc=test");

  // The principal may be named; it must then be the cache's.
  session_options.bind = GssapiBind{"", principal};
  auto named = Session::connect(session_options);
  ASSERT_TRUE(named) << named.error().to_string();
  session_options.bind = GssapiBind{"", "host/other.ward.test@" + (*kdc)->realm()};
  auto other = Session::connect(session_options);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("holds tickets for 'host/client.ward.test@"), std::string::npos)
      << other.error().to_string();
}

// A KDC whose clock runs an hour ahead (krb5kdc under faketime) while slapd's and ours agree: the
// library learns the KDC's time (kdc_timesync) so our tickets are issued, and slapd refuses them as
// not yet valid. The bind error says clock skew, with our time and the KDC's, not the SASL text alone.
TEST(SessionGssapi, KdcClockSkewIsNamedWithBothTimes) {
  test::KdcOptions kdc_options;
  kdc_options.clock_offset = "+1h";
  auto kdc = test::KdcInstance::start(kdc_options);
  ASSERT_TRUE(kdc) << kdc.error().to_string();
  test::ScopedEnv krb5_config("KRB5_CONFIG", (*kdc)->krb5_config().string());
  const auto service_keytab = (*kdc)->dir() / "ldap.keytab";
  const auto host_keytab = (*kdc)->dir() / "host.keytab";
  ASSERT_TRUE((*kdc)->add_principal("ldap/localhost"));
  ASSERT_TRUE((*kdc)->add_principal("host/client.ward.test"));
  ASSERT_TRUE((*kdc)->extract_keytab("ldap/localhost", service_keytab));
  ASSERT_TRUE((*kdc)->extract_keytab("host/client.ward.test", host_keytab));
  SlapdOptions options;
  test::SlapdSaslSettings sasl;
  sasl.sasl_host = "localhost";
  sasl.realm = (*kdc)->realm();
  sasl.keytab = service_keytab;
  sasl.krb5_config = (*kdc)->krb5_config();
  options.sasl = sasl;
  auto slapd = SlapdInstance::start(options);
  ASSERT_TRUE(slapd) << slapd.error().to_string();

  SessionOptions session_options;
  session_options.uris = {(*slapd)->ldap_uri("localhost")};
  session_options.bind = GssapiBind{host_keytab.string(), "host/client.ward.test@" + (*kdc)->realm()};
  auto session = Session::connect(session_options);
  ASSERT_FALSE(session);
  const std::string text = session.error().to_string();
  RecordProperty("bind_error", text);
  EXPECT_EQ(session.error().operation, "SASL/GSSAPI bind");
  EXPECT_NE(text.find("clock skew: this host's clock reads "), std::string::npos) << text;
  EXPECT_NE(text.find(", the KDC's "), std::string::npos) << text;
  EXPECT_TRUE(text.find("(3600 s ahead of ours") != std::string::npos ||
              text.find("(3599 s ahead of ours") != std::string::npos ||
              text.find("(3601 s ahead of ours") != std::string::npos)
      << text;
}

}  // namespace
}  // namespace ward::ldap
