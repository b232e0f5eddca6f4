#include "tests/harness/provision_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace ward::test {
namespace {

constexpr const char* kCopy = "/bin/cp";
constexpr const char* kKeyFile = "key.txt";

std::string hex_hash(const std::string& key) {
  char text[17];
  std::snprintf(text, sizeof text, "%016zx", std::hash<std::string>{}(key));
  return text;
}

// An flock held until destruction.
class LockFile {
 public:
  static Expected<LockFile, HarnessError> acquire(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return unexpected(HarnessError{"open " + file.string(), errno_text(errno)});
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return unexpected(HarnessError{"flock " + file.string(), errno_text(err)});
    }
    return LockFile(fd);
  }
  LockFile(LockFile&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  LockFile& operator=(LockFile&&) = delete;
  ~LockFile() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_;
};

Expected<void, HarnessError> replace_in_file(const std::filesystem::path& file, const std::string& from, const std::string& to) {
  std::string text = read_text(file);
  if (text.empty()) return unexpected(HarnessError{"rewrite " + file.string(), "empty or unreadable"});
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return write_file(file, text);
}

// Where a tree is provisioned before it is renamed into place: the path its files name.
std::filesystem::path building_path(const std::filesystem::path& tree) { return tree.string() + ".building"; }

// Provisions into building_path(tree) and renames it into place, with the key beside it.
Expected<void, HarnessError> make_tree(
    const std::filesystem::path& tree, const std::string& key,
    const std::function<Expected<void, HarnessError>(const std::filesystem::path&)>& provision) {
  std::error_code ec;
  std::filesystem::remove_all(tree, ec);  // a stale tree (another key with this hash)
  const auto building = building_path(tree);
  std::filesystem::remove_all(building, ec);  // a provision killed half-way
  std::filesystem::create_directories(building, ec);
  if (ec) return unexpected(HarnessError{"create " + building.string(), ec.message()});
  if (auto made = provision(building); !made) {
    std::filesystem::remove_all(building, ec);
    return unexpected(made.error());
  }
  if (auto w = write_file(building / kKeyFile, key); !w) return unexpected(w.error());
  std::filesystem::rename(building, tree, ec);
  if (ec) return unexpected(HarnessError{"rename " + building.string() + " to " + tree.string(), ec.message()});
  return {};
}

}  // namespace

std::optional<std::filesystem::path> test_cache_dir() {
  const char* dir = std::getenv("WARD_TEST_CACHE_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  return std::filesystem::path(dir);
}

Expected<bool, HarnessError> provision_through_cache(
    const std::filesystem::path& cache_dir, const std::string& prefix, const std::string& key,
    const std::filesystem::path& target, const std::vector<std::filesystem::path>& rewritten,
    const std::function<Expected<void, HarnessError>(const std::filesystem::path& root)>& provision) {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) return unexpected(HarnessError{"create " + cache_dir.string(), ec.message()});
  // The trees hold a test domain's keys: nobody else's to read.
  std::filesystem::permissions(cache_dir, std::filesystem::perms::owner_all, ec);
  const auto tree = cache_dir / (prefix + "-" + hex_hash(key));
  bool reused = true;
  {
    auto lock = LockFile::acquire(tree.string() + ".lock");
    if (!lock) return unexpected(lock.error());
    if (read_text(tree / kKeyFile) != key) {
      if (auto made = make_tree(tree, key, provision); !made) return unexpected(made.error());
      reused = false;
    }
  }
  // `cp -a` keeps modes, owners and extended attributes (a DC's sysvol keeps its NT ACLs there).
  if (auto copied = run_command({kCopy, "-a", (tree / ".").string(), target.string()}, {}, target / "copy.log"); !copied) {
    return unexpected(copied.error());
  }
  std::filesystem::remove(target / kKeyFile, ec);
  for (const auto& file : rewritten) {
    if (auto r = replace_in_file(target / file, building_path(tree).string(), target.string()); !r) return unexpected(r.error());
  }
  return reused;
}

}  // namespace ward::test
