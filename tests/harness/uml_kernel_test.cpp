// The User-mode Linux harness against the real linux.uml: one boot whose script adds an ESP state
// with AES-GCM and an AH state in a network namespace (what the host kernel here refuses), checks
// that the namespace stays inside (tmpfs /run) and that processes keep their vector registers (the
// XSAVE trap of uml_kernel.h: copied strings and formatted output stay right), and exits with a
// status of its own.
#include "tests/harness/uml_kernel.h"

#include <gtest/gtest.h>

namespace ward::test {
namespace {

TEST(UmlKernelTest, UnknownModulesAreNamed) {
  if (auto why = uml_unavailable()) GTEST_SKIP() << *why;
  const auto files = uml_module_files({"esp4", "no_such_module"});
  ASSERT_FALSE(files.has_value());
  EXPECT_NE(files.error().to_string().find("no_such_module"), std::string::npos) << files.error().to_string();
}

TEST(UmlKernelTest, DependenciesComeFirst) {
  if (auto why = uml_unavailable()) GTEST_SKIP() << *why;
  const auto files = uml_module_files({"esp4", "xfrm_user"});
  ASSERT_TRUE(files.has_value()) << files.error().to_string();
  ASSERT_EQ(files->size(), 3u);  // xfrm_algo, esp4, xfrm_user
  EXPECT_EQ((*files)[0].filename(), "xfrm_algo.ko");
  EXPECT_EQ((*files)[1].filename(), "esp4.ko");
  EXPECT_EQ((*files)[2].filename(), "xfrm_user.ko");
}

TEST(UmlKernelTest, AScriptAddsEspAndAhStatesInsideAndItsStatusComesBack) {
  if (auto why = uml_unavailable()) GTEST_SKIP() << *why;
  auto dir = TempDir::create("uml-kernel-test");
  ASSERT_TRUE(dir) << dir.error().to_string();
  const std::string netns = "ward-uml-test-ns";
  UmlOptions options;
  options.environment["WARD_PROBE"] = "it's quoted";
  options.script =
      "echo \"env: $WARD_PROBE\"\n"
      "ip netns add " + netns + " || exit 10\n"
      "ip -n " + netns + " link set lo up\n"
      "ip -n " + netns + " xfrm state add src 10.9.0.1 dst 10.9.0.2 proto esp spi 0x1001 mode transport "
      "aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 || exit 11\n"
      "ip -n " + netns + " xfrm state add src 10.9.0.1 dst 10.9.0.2 proto ah spi 0x1002 mode transport "
      "auth-trunc 'hmac(sha1)' 0x0102030405060708090a0b0c0d0e0f1011121314 96 || exit 12\n"
      "ip -n " + netns + " xfrm state\n"
      "printf 'formatted: %d.%d %s\\n' 10 9 done\n"
      // Python's start-up copies and formats many strings on fresh pages: it failed while UML
      // kept only the FXSAVE area of its processes.
      "python3 -c 'import json; print(\"json:\", json.dumps({\"spi\": 4097}))'\n"
      "exit 7\n";
  const auto run = run_in_uml(options, dir->path());
  ASSERT_TRUE(run.has_value()) << run.error().to_string();
  EXPECT_EQ(run->exit_status, 7) << run->describe();
  const auto output = read_text(run->output);
  EXPECT_NE(output.find("env: it's quoted"), std::string::npos) << output;
  EXPECT_NE(output.find("proto esp spi 0x00001001"), std::string::npos) << output;
  EXPECT_NE(output.find("aead rfc4106(gcm(aes))"), std::string::npos) << output;
  EXPECT_NE(output.find("proto ah spi 0x00001002"), std::string::npos) << output;
  EXPECT_NE(output.find("formatted: 10.9 done"), std::string::npos) << output;
  EXPECT_NE(output.find("json: {\"spi\": 4097}"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists("/run/netns/" + netns)) << "the namespace must not reach the host's /run";
  EXPECT_FALSE(run->timed_out);
  EXPECT_GT(run->boot.count(), 0);
  std::cout << "UML boot with " << options.modules.size() << " modules: " << run->boot.count() << " ms, whole run "
            << run->total.count() << " ms\n";
}

}  // namespace
}  // namespace ward::test
