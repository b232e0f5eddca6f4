// ward-policy-ldif <domain DN> <policy.json>...: the policies' IPsec objects as LDIF on stdout.
#include <fstream>
#include <iostream>
#include <sstream>

#include "directory/model/policy_json.h"
#include "directory/model/validation.h"
#include "directory/store/ldif.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: ward-policy-ldif <domain DN> <policy.json>...\n";
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      std::cerr << "ward-policy-ldif: cannot read '" << argv[i] << "'\n";
      return 1;
    }
    auto policy = ward::model::policy_from_json(text.str());
    if (!policy) {
      for (const auto& problem : policy.error()) std::cerr << argv[i] << ": " << problem.to_string() << "\n";
      return 1;
    }
    if (const auto problems = ward::model::validate(*policy); ward::model::has_errors(problems)) {
      for (const auto& problem : problems) std::cerr << argv[i] << ": " << problem.to_string() << "\n";
      return 1;
    }
    auto ldif = ward::store::policy_ldif(*policy, argv[1]);
    if (!ldif) {
      std::cerr << "ward-policy-ldif: " << ldif.error().to_string() << "\n";
      return 1;
    }
    std::cout << "# policy \"" << policy->name << "\"\n" << *ldif;
  }
  return 0;
}
