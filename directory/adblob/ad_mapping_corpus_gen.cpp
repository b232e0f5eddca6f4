// Writes the seed corpus of ad_mapping_fuzz (ad_object_set.h format): the Windows default IP
// Security objects (tests/data/ad/windows-default-ipsec.ldif: three policies sharing filters and
// filter actions) and the objects Ward writes for its example policies (schemas/examples).
// Usage: ad_mapping_corpus_gen <source dir> <corpus dir>   (tests/data/ad/mapping-corpus)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "directory/adblob/ad_object_set.h"
#include "directory/adblob/ldif_test_support.h"
#include "directory/adblob/policy_to_ad.h"
#include "directory/model/policy_json.h"

namespace {

using namespace ward;
using namespace ward::adblob;

std::vector<AdObject> windows_defaults(const std::filesystem::path& ldif) {
  std::vector<AdObject> out;
  for (const auto& e : testing::read_ldif(ldif.string())) {
    AdObject o;
    o.dn = e.dn;
    for (const auto& c : e.all("objectClass")) {
      if (const auto known = class_from_name(c)) o.object_class = *known;
    }
    o.ipsec_name = e.one("ipsecName");
    o.description = e.one("description");
    o.ipsec_id = e.one("ipsecID");
    o.ipsec_data_type = static_cast<std::uint32_t>(std::stoul(e.one("ipsecDataType")));
    o.ipsec_data = testing::bytes_of(e.one("ipsecData"));
    if (!e.one("ipsecISAKMPReference").empty()) o.isakmp_reference = e.one("ipsecISAKMPReference");
    o.nfa_references = e.all("ipsecNFAReference");
    o.filter_references = e.all("ipsecFilterReference");
    if (!e.one("ipsecNegotiationPolicyReference").empty()) {
      o.negotiation_policy_reference = e.one("ipsecNegotiationPolicyReference");
    }
    o.owners_references = e.all("ipsecOwnersReference");
    o.negotiation_policy_type = e.one("iPSECNegotiationPolicyType");
    o.negotiation_policy_action = e.one("iPSECNegotiationPolicyAction");
    out.push_back(std::move(o));
  }
  return out;
}

bool write(const std::filesystem::path& file, const std::vector<AdObject>& objects) {
  const auto bytes = encode_ad_object_set(objects);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", file.c_str());
    return false;
  }
  std::printf("%s: %zu objects, %zu bytes\n", file.c_str(), objects.size(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <source dir> <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path source(argv[1]), dir(argv[2]);
  std::filesystem::create_directories(dir);
  bool ok = write(dir / "windows-defaults.bin", windows_defaults(source / "tests/data/ad/windows-default-ipsec.ldif"));
  for (const char* example : {"legal-policy.json", "domain-policy.json"}) {
    std::ifstream in(source / "schemas/examples" / example, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto policy = model::policy_from_json(text);
    if (!policy) {
      std::fprintf(stderr, "%s does not parse\n", example);
      ok = false;
      continue;
    }
    auto objects = policy_to_ad(*policy, "DC=ward,DC=example");
    if (!objects) {
      std::fprintf(stderr, "%s: %s\n", example, objects.error().to_string().c_str());
      ok = false;
      continue;
    }
    ok = write(dir / (std::filesystem::path(example).stem().string() + ".bin"), *objects) && ok;
  }
  return ok ? 0 : 1;
}
