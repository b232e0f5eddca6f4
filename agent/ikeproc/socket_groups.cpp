#include "agent/ikeproc/socket_groups.h"

#include <algorithm>

namespace ward::agent::ikeproc {

Expected<void, std::string> SocketGroups::add(const SocketNote& note, privsep::OwnedFd fd) {
  auto& group = groups_[{note.address.to_string(), note.port}];
  if (note.engine.value == 0) group = Group{std::vector<privsep::OwnedFd>(note.engines.value), {}};
  if (group.sockets.size() != note.engines.value || group.sockets[note.engine.value]) {
    group.refused = "socket " + std::to_string(note.engine.value) + " of a group of " + std::to_string(note.engines.value) + " for " +
                    note.address.to_string() + ":" + std::to_string(note.port) + " is not the next of a group wardd started";
    return unexpected(group.refused);
  }
  group.sockets[note.engine.value] = std::move(fd);
  return {};
}

Expected<std::vector<ike::net::UdpSocket>, std::string> SocketGroups::take(const IpAddress& address, std::uint16_t port) {
  const auto where = address.to_string() + ":" + std::to_string(port);
  const auto found = groups_.find({address.to_string(), port});
  if (found == groups_.end()) return unexpected("no socket for " + where);
  auto& [sockets, refused] = found->second;
  if (!refused.empty()) return unexpected(refused);
  const auto arrived = std::count_if(sockets.begin(), sockets.end(), [](const auto& fd) { return static_cast<bool>(fd); });
  if (sockets.empty() || arrived != static_cast<std::ptrdiff_t>(sockets.size())) {
    return unexpected(std::to_string(arrived) + " sockets of a group of " + std::to_string(sockets.size()) + " for " + where);
  }
  std::vector<ike::net::UdpSocket> group;
  for (auto& fd : sockets) group.push_back(ike::net::UdpSocket::adopt(ike::net::UniqueFd(fd.release())));
  groups_.erase(found);
  return group;
}

}  // namespace ward::agent::ikeproc
