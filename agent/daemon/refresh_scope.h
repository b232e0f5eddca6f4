// Which directory changes can affect this host's policy, as its last fetch found: the objects it
// read (the computer, the domain and OUs on its chain, its site and the subnets that chose it,
// the policy's objects) and the subtrees of the GPOs linked there (a GPO container, its IPSEC
// assignment object). A change whose DN (or former DN) is none of these cannot change what the
// host would fetch: a new link is a change of a SOM's gPLink, a new or re-pointed policy object a
// change of an object already referenced, a moved computer a change of the computer's DN. Before a
// fetch has scoped the host (or when its content was invalid), every change counts.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ward::agent::daemon {

class RefreshScope {
 public:
  static RefreshScope everything();

  void add_object(std::string_view dn);
  void add_subtree(std::string_view dn);
  bool affected_by(std::string_view dn) const;
  bool covers_everything() const { return everything_; }
  std::size_t size() const { return objects_.size() + subtrees_.size(); }
  // Normalized DNs (for wardd's directory fetcher, which sends its scope to wardd).
  const std::unordered_set<std::string>& objects() const { return objects_; }
  const std::unordered_set<std::string>& subtrees() const { return subtrees_; }

 private:
  bool everything_ = false;
  std::unordered_set<std::string> objects_;   // normalized DNs
  std::unordered_set<std::string> subtrees_;  // normalized DNs
};

}  // namespace ward::agent::daemon
