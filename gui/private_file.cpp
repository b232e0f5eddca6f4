#include "gui/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ward::gui {

namespace {

constexpr mode_t kPrivateFileMode = 0600;

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release_and_close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

QString errno_text() { return QString::fromLocal8Bit(std::strerror(errno)); }

}  // namespace

std::optional<QString> write_private_file(const QString& path, const std::string& content) {
  const QByteArray target = path.toLocal8Bit();
  std::vector<char> temp_name(target.begin(), target.end());
  for (const char c : QByteArray(".tmp-XXXXXX")) temp_name.push_back(c);
  temp_name.push_back('\0');

  UniqueFd fd(::mkstemp(temp_name.data()));  // mkstemp creates the file 0600
  if (fd.get() < 0) return "cannot create temporary file beside " + path + ": " + errno_text();
  const QString temp_path = QString::fromLocal8Bit(temp_name.data());
  auto fail = [&](const QString& step) -> std::optional<QString> {
    const QString reason = step + " " + temp_path + ": " + errno_text();
    fd.reset();
    ::unlink(temp_name.data());
    return reason;
  };
  if (::fchmod(fd.get(), kPrivateFileMode) != 0) return fail("cannot set mode 0600 on");
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write " + QString::number(content.size()) + " bytes to");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot flush");
  if (fd.release_and_close() != 0) return fail("cannot close");
  if (::rename(temp_name.data(), target.constData()) != 0) {
    const QString reason = "cannot rename " + temp_path + " to " + path + ": " + errno_text();
    ::unlink(temp_name.data());
    return reason;
  }
  return std::nullopt;
}

}  // namespace ward::gui
