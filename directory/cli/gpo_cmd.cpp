// ward-dir gpo create | link | unlink | assign | unassign | block-inheritance
#include <iostream>

#include "directory/cli/cli.h"
#include "directory/store/gpo_admin.h"

namespace ward::dircli {

int run_gpo(Context& context, const std::vector<std::string>& words) {
  const Args args(words, {});
  if (const auto bad = args.unknown({"enforced", "disabled"}); !bad.empty()) return usage(bad);
  const auto& pos = args.positional();
  if (pos.empty()) return usage("gpo needs a subcommand: create, link, unlink, assign, unassign, block-inheritance");
  if (context.domain_dn.empty()) return usage("gpo commands need --domain");
  const std::string& verb = pos[0];
  auto* session = context.connect();
  if (session == nullptr) return kExitFailed;
  const auto gpo = [&](const std::string& name) { return store::resolve_gpo(*session, context.domain_dn, name); };

  bool no_sysvol = false;
  if (verb == "create") {
    if (pos.size() != 2) return usage("gpo create <display name>");
    auto* sysvol = context.sysvol(no_sysvol);
    if (no_sysvol) return kExitFailed;
    auto dn = store::create_gpo(*session, context.domain_dn, pos[1], sysvol);
    if (!dn) return fail(dn.error());
    std::cout << *dn << "\n";
    return kExitOk;
  }
  if (verb == "link" || verb == "unlink") {
    if (pos.size() != 3) return usage("gpo " + verb + " <gpo> <container-dn>");
    auto dn = gpo(pos[1]);
    if (!dn) return fail(dn.error());
    auto done = verb == "link"
                    ? store::link_gpo(*session, pos[2], *dn, {args.flag("enforced"), args.flag("disabled")})
                    : store::unlink_gpo(*session, pos[2], *dn);
    return done ? kExitOk : fail(done.error());
  }
  if (verb == "assign") {
    if (pos.size() != 3) return usage("gpo assign <gpo> <policy>");
    auto dn = gpo(pos[1]);
    if (!dn) return fail(dn.error());
    auto policy = resolve_policy(context, pos[2]);
    if (!policy) return fail(policy.error());
    auto* sysvol = context.sysvol(no_sysvol);
    if (no_sysvol) return kExitFailed;
    auto done = store::assign_policy(*session, *dn, *policy, sysvol);
    return done ? kExitOk : fail(done.error());
  }
  if (verb == "unassign") {
    if (pos.size() != 2) return usage("gpo unassign <gpo>");
    auto dn = gpo(pos[1]);
    if (!dn) return fail(dn.error());
    auto* sysvol = context.sysvol(no_sysvol);
    if (no_sysvol) return kExitFailed;
    auto done = store::unassign_policy(*session, *dn, sysvol);
    return done ? kExitOk : fail(done.error());
  }
  if (verb == "block-inheritance") {
    if (pos.size() != 3 || (pos[2] != "yes" && pos[2] != "no")) return usage("gpo block-inheritance <container-dn> yes|no");
    auto done = store::set_block_inheritance(*session, pos[1], pos[2] == "yes");
    return done ? kExitOk : fail(done.error());
  }
  return usage("unknown gpo subcommand '" + verb + "'");
}

}  // namespace ward::dircli
