// The fleet simulator's directory: the Legal scenario (schemas/examples/legal.ldif: the domain,
// OUs Legal, Sales and Lab, GPOs "Legal IPsec" on OU=Legal and "Domain IPsec" on the domain) grown
// to N computer accounts spread over OUs and sites, on two OpenLDAP providers replicating each
// other (tests/harness ReplicatedSlapd). Each computer is an account of its own: objectClass
// computer plus simpleSecurityObject, a random password stored salted and hashed ({SSHA}), bound
// with a simple bind as its own DN (userPassword is readable by nobody; binds only).
//
// Layout of host i (0-based):
//   i < legal_hosts                        CN=host-i,OU=Floor-<i/100>,OU=Legal   (Legal GPO)
//   otherwise, one in ten                  CN=host-i,OU=Lab                      (blocks inheritance: none)
//   otherwise                              CN=host-i,OU=Branch-<i mod branches>,OU=Sales (Domain GPO)
//   even i: msDS-SiteName HQ; odd i: no site attribute, its address 10.30.x.y lies in the subnet
//   of site Branch (found from the subnets, as wardd does).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/ip.h"
#include "tests/harness/replicated_slapd.h"

namespace ward::fleet {

inline const std::string kDomainDn = "DC=example,DC=test";
inline const std::string kLegalPolicyDn =
    "CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE},CN=IP Security,CN=System," + kDomainDn;
inline const std::string kLegalGpoDn = "CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E01},CN=Policies,CN=System," + kDomainDn;

struct FleetLayout {
  std::size_t hosts = 5000;
  std::size_t legal_hosts = 1000;
  std::size_t branches = 20;  // OU=Branch-NN,OU=Sales
};

struct SimComputer {
  std::string dn;
  std::string password;
  IpAddress address;
  enum class Expect { kLegal, kDomain, kNone } policy = Expect::kDomain;
  std::size_t branch = 0;  // Sales hosts: their OU=Branch-NN
};

struct FleetDirectory {
  std::unique_ptr<test::ReplicatedSlapd> providers;
  std::vector<SimComputer> computers;
  std::string admin_dn;
  std::string admin_password;
};

// The DN of OU=Branch-NN,OU=Sales.
std::string branch_ou(std::size_t branch);

// Writes the LDIF, starts the two providers and waits until they agree.
Expected<FleetDirectory, test::HarnessError> start_fleet_directory(const std::filesystem::path& source_dir,
                                                                   const FleetLayout& layout);

// "{SSHA}" + base64(SHA-1(password + salt) + salt), as slapd checks it.
std::string ssha_hash(const std::string& password);

}  // namespace ward::fleet
