#include "tools/fleet-sim/fleet_directory.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <fstream>

namespace ward::fleet {
namespace {

constexpr std::size_t kFloorSize = 100;  // Legal hosts per OU=Floor-NN
constexpr std::size_t kLabEvery = 10;
constexpr auto kConvergeTimeout = std::chrono::seconds(120);

std::string random_password() {
  std::array<unsigned char, 18> bytes{};
  RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
  std::string out(32, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(24);
  return out;
}

std::string two_digits(std::size_t n) {
  char text[24];  // any size_t: 20 digits
  std::snprintf(text, sizeof text, "%02zu", n);
  return text;
}

}  // namespace

std::string branch_ou(std::size_t branch) { return "OU=Branch-" + two_digits(branch) + ",OU=Sales," + kDomainDn; }

std::string ssha_hash(const std::string& password) {
  std::array<unsigned char, 8> salt{};
  RAND_bytes(salt.data(), static_cast<int>(salt.size()));
  std::array<unsigned char, 20 + 8> digest_and_salt{};
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  EVP_DigestUpdate(ctx, password.data(), password.size());
  EVP_DigestUpdate(ctx, salt.data(), salt.size());
  EVP_DigestFinal_ex(ctx, digest_and_salt.data(), &length);
  EVP_MD_CTX_free(ctx);
  std::copy(salt.begin(), salt.end(), digest_and_salt.begin() + 20);
  std::string encoded(64, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), digest_and_salt.data(),
                                static_cast<int>(digest_and_salt.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "{SSHA}" + encoded;
}

Expected<FleetDirectory, test::HarnessError> start_fleet_directory(const std::filesystem::path& source_dir,
                                                                   const FleetLayout& layout) {
  FleetDirectory out;
  auto dir = test::TempDir::create("ward-fleet-ldif");
  if (!dir) return unexpected(dir.error());
  std::string ldif;
  // The Branch site and its subnet (10.30.0.0/16); HQ comes with legal.ldif.
  ldif += "dn: CN=Branch,CN=Sites,CN=Configuration," + kDomainDn + "\nobjectClass: site\ncn: Branch\n\n";
  ldif += "dn: CN=10.30.0.0/16,CN=Subnets,CN=Sites,CN=Configuration," + kDomainDn +
          "\nobjectClass: subnet\ncn: 10.30.0.0/16\nsiteObject: CN=Branch,CN=Sites,CN=Configuration," + kDomainDn + "\n\n";
  for (std::size_t floor = 0; floor * kFloorSize < layout.legal_hosts; ++floor) {
    ldif += "dn: OU=Floor-" + two_digits(floor) + ",OU=Legal," + kDomainDn + "\nobjectClass: organizationalUnit\nobjectClass: wardGroupPolicyLinks\nou: Floor-" +
            two_digits(floor) + "\n\n";
  }
  for (std::size_t branch = 0; branch < layout.branches; ++branch) {
    ldif += "dn: " + branch_ou(branch) + "\nobjectClass: organizationalUnit\nobjectClass: wardGroupPolicyLinks\nou: Branch-" + two_digits(branch) + "\n\n";
  }
  std::size_t sales = 0;
  for (std::size_t i = 0; i < layout.hosts; ++i) {
    SimComputer computer;
    const std::string name = "host-" + std::to_string(i);
    if (i < layout.legal_hosts) {
      computer.policy = SimComputer::Expect::kLegal;
      computer.dn = "CN=" + name + ",OU=Floor-" + two_digits(i / kFloorSize) + ",OU=Legal," + kDomainDn;
    } else if (i % kLabEvery == 0) {
      computer.policy = SimComputer::Expect::kNone;
      computer.dn = "CN=" + name + ",OU=Lab," + kDomainDn;
    } else {
      computer.policy = SimComputer::Expect::kDomain;
      computer.branch = sales++ % layout.branches;
      computer.dn = "CN=" + name + "," + branch_ou(computer.branch);
    }
    const auto host = static_cast<std::uint32_t>(i);
    computer.address = i % 2 == 0 ? IpAddress::v4((10u << 24) | (20u << 16) | (1u << 8) | (1 + host % 250))
                                  : IpAddress::v4((10u << 24) | (30u << 16) | ((host >> 8) & 0xff) << 8 | (host & 0xff));
    computer.password = random_password();
    ldif += "dn: " + computer.dn + "\nobjectClass: computer\nobjectClass: simpleSecurityObject\ncn: " + name +
            "\nsAMAccountName: " + name + "$\ndNSHostName: " + name + ".example.test\nuserPassword: " +
            ssha_hash(computer.password) + "\n";
    if (i % 2 == 0) ldif += "msDS-SiteName: HQ\n";
    ldif += "\n";
    out.computers.push_back(std::move(computer));
  }
  const auto fleet_ldif = dir->path() / "fleet.ldif";
  if (auto w = test::write_file(fleet_ldif, ldif); !w) return unexpected(w.error());

  test::SlapdOptions options;
  options.suffix = "dc=example,dc=test";
  options.root_dn = "cn=admin,dc=example,dc=test";
  options.create_suffix_entry = false;
  options.extra_schemas = {source_dir / "schemas/openldap/ward-ad-ipsec.ldif"};
  options.initial_ldif = {source_dir / "schemas/examples/legal.ldif", fleet_ldif};
  options.protect_passwords = true;
  // As installer/bootstrap-directory indexes a production directory (entryCSN, entryUUID and
  // objectClass come with replication). dc matters: the fetch's change-stamp search ORs the first
  // RDNs of what it read ((dc=example) among them), and an OR with one unindexed term makes
  // slapd test every entry of the domain (20 ms of slapd CPU per fetch at 5,000 computers).
  options.indexes = {"cn,ou,dc eq", "member eq", "sAMAccountName eq", "dNSHostName eq", "ipsecOwnersReference eq"};
  options.start_timeout = std::chrono::seconds(120);
  out.admin_dn = options.root_dn;
  out.admin_password = options.root_password;
  auto providers = test::ReplicatedSlapd::start(options);
  if (!providers) return unexpected(providers.error());
  out.providers = std::move(*providers);
  if (auto converged = out.providers->wait_converged(kConvergeTimeout); !converged) return unexpected(converged.error());
  return out;
}

}  // namespace ward::fleet
