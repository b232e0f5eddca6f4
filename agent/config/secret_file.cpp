#include "agent/config/secret_file.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace ward::agent::config {
namespace {

std::string user_name(uid_t uid) {
  std::vector<char> buffer(4096);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) return found->pw_name;
  return "uid " + std::to_string(uid);
}

std::string group_name(gid_t gid) {
  std::vector<char> buffer(4096);
  group entry{};
  group* found = nullptr;
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) return found->gr_name;
  return "gid " + std::to_string(gid);
}

std::string mode_text(mode_t mode) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return text.data();
}

}  // namespace

Expected<void, std::string> check_secret_file(const std::filesystem::path& path, std::string_view what) {
  const std::string name = std::string(what) + " " + path.string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return unexpected("cannot read " + name + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return unexpected(name + " is not a regular file");
  const std::string facts =
      "(mode " + mode_text(st.st_mode) + ", owner " + user_name(st.st_uid) + ", group " + group_name(st.st_gid) + ")";
  const uid_t reader = ::geteuid();
  if (st.st_uid != reader && st.st_uid != 0) {
    return unexpected(name + " is owned by " + user_name(st.st_uid) + ", not by " + user_name(reader) +
                      " who reads it " + facts + ": its owner could replace the secret, so wardd refuses it; chown " +
                      user_name(reader) + " " + path.string());
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    const std::string open_to = (st.st_mode & S_IROTH) != 0   ? "readable by others"
                                : (st.st_mode & S_IRWXO) != 0 ? "open to others"
                                : (st.st_mode & S_IRGRP) != 0 ? "readable by its group " + group_name(st.st_gid)
                                                              : "open to its group " + group_name(st.st_gid);
    return unexpected(name + " is " + open_to + " " + facts +
                      ": it holds a secret, so wardd refuses it; make it readable by its owner only: chmod 600 " +
                      path.string());
  }
  return {};
}

}  // namespace ward::agent::config
