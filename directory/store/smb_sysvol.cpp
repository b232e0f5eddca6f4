// smb_sysvol: SYSVOL over SMB with libsmbclient (Samba's client library), Kerberos only.
#include <fcntl.h>
#include <stdlib.h>
#include <libsmbclient.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "directory/ldap/kerberos_client.h"
#include "directory/store/sysvol.h"

namespace ward::store {

namespace {

constexpr std::size_t kReadChunk = 4096;
constexpr std::size_t kMaxFileSize = 1 << 20;  // GPT.INI is a few lines; refuse anything huge

std::string errno_text(int err) { return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")"; }

// Kerberos carries the identity; libsmbclient still asks for a user name, which it ignores then.
void no_password(SMBCCTX*, const char*, const char*, char*, int, char*, int, char* password, int password_length) {
  if (password_length > 0) password[0] = '\0';
}

// Tickets from a keytab in a FILE ccache of a private folder (Debian's libsmbclient has Samba's own
// Kerberos library, which cannot see MIT's MEMORY ccaches), named by KRB5CCNAME while they live.
class PrivateTickets {
 public:
  static Expected<std::unique_ptr<PrivateTickets>, std::string> acquire(const std::string& keytab,
                                                                       const std::string& principal) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ward-smb-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return unexpected("cannot make a private folder: " + errno_text(errno));
    std::unique_ptr<PrivateTickets> out(new PrivateTickets(pattern));
    auto tickets = ldap::KerberosClientCredentials::acquire(keytab, principal, "FILE:" + pattern + "/ccache");
    if (!tickets) return unexpected("kerberos: " + tickets.error().step + ": " + tickets.error().message);
    out->tickets_ = std::move(*tickets);
    if (const char* old = std::getenv("KRB5CCNAME"); old != nullptr) out->previous_ = old;
    ::setenv("KRB5CCNAME", out->tickets_->ccache_name().c_str(), 1);
    return out;
  }
  ~PrivateTickets() {
    if (tickets_) {
      if (previous_) ::setenv("KRB5CCNAME", previous_->c_str(), 1);
      else ::unsetenv("KRB5CCNAME");
    }
    tickets_.reset();  // destroys the ccache file
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
  PrivateTickets(const PrivateTickets&) = delete;
  PrivateTickets& operator=(const PrivateTickets&) = delete;

 private:
  explicit PrivateTickets(std::string folder) : folder_(std::move(folder)) {}
  std::string folder_;
  std::unique_ptr<ldap::KerberosClientCredentials> tickets_;
  std::optional<std::string> previous_;
};

struct ContextDeleter {
  void operator()(SMBCCTX* context) const { smbc_free_context(context, 1); }
};
using ContextPtr = std::unique_ptr<SMBCCTX, ContextDeleter>;

class SmbSysvol final : public Sysvol {
 public:
  SmbSysvol(std::string dc_host, ContextPtr context, std::unique_ptr<PrivateTickets> tickets)
      : dc_host_(std::move(dc_host)), context_(std::move(context)), tickets_(std::move(tickets)) {}
  ~SmbSysvol() override { context_.reset(); }
  SmbSysvol(const SmbSysvol&) = delete;
  SmbSysvol& operator=(const SmbSysvol&) = delete;

  Expected<void, StoreError> make_directory(const UncPath& path) override {
    errno = 0;
    if (smbc_getFunctionMkdir(context_.get())(context_.get(), url(path).c_str(), 0755) == 0 || errno == EEXIST) return {};
    return unexpected(error(path, "cannot make the folder", errno));
  }

  Expected<std::optional<std::string>, StoreError> read_file(const UncPath& path) override {
    SMBCFILE* file = smbc_getFunctionOpen(context_.get())(context_.get(), url(path).c_str(), O_RDONLY, 0);
    if (file == nullptr) {
      if (errno == ENOENT) return std::optional<std::string>();
      return unexpected(error(path, "cannot open", errno));
    }
    std::string out;
    char buffer[kReadChunk];
    for (;;) {
      const ssize_t n = smbc_getFunctionRead(context_.get())(context_.get(), file, buffer, sizeof(buffer));
      if (n < 0) {
        const int err = errno;
        smbc_getFunctionClose(context_.get())(context_.get(), file);
        return unexpected(error(path, "cannot read", err));
      }
      if (n == 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
      if (out.size() > kMaxFileSize) {
        smbc_getFunctionClose(context_.get())(context_.get(), file);
        return unexpected(StoreError{path.to_string(), {}, "larger than " + std::to_string(kMaxFileSize) + " bytes"});
      }
    }
    smbc_getFunctionClose(context_.get())(context_.get(), file);
    return std::optional<std::string>(std::move(out));
  }

  Expected<void, StoreError> write_file(const UncPath& path, std::string_view bytes) override {
    SMBCFILE* file = smbc_getFunctionOpen(context_.get())(context_.get(), url(path).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (file == nullptr) return unexpected(error(path, "cannot create", errno));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = smbc_getFunctionWrite(context_.get())(context_.get(), file, bytes.data() + done, bytes.size() - done);
      if (n <= 0) {
        const int err = errno;
        smbc_getFunctionClose(context_.get())(context_.get(), file);
        return unexpected(error(path, "cannot write", err));
      }
      done += static_cast<std::size_t>(n);
    }
    if (smbc_getFunctionClose(context_.get())(context_.get(), file) != 0) return unexpected(error(path, "cannot close", errno));
    return {};
  }

  Expected<void, StoreError> remove(const UncPath& path) override {
    if (smbc_getFunctionUnlink(context_.get())(context_.get(), url(path).c_str()) == 0 || errno == ENOENT) return {};
    if (smbc_getFunctionRmdir(context_.get())(context_.get(), url(path).c_str()) == 0 || errno == ENOENT) return {};
    return unexpected(error(path, "cannot remove", errno));
  }

 private:
  // smb://<the DC>/<share>/<parts>: the UNC's server is the domain's DFS name; the DC has the
  // share. Share names are case-insensitive, but libsmbclient 4.17 fails "SysVol" with EINVAL
  // where "sysvol" works, so the share goes in lower case.
  std::string url(const UncPath& path) const {
    std::string share = path.share;
    for (auto& c : share) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string out = "smb://" + dc_host_ + "/" + share;
    for (const auto& part : path.parts) out += "/" + part;
    return out;
  }
  StoreError error(const UncPath& path, const std::string& what, int err) const {
    return StoreError{path.to_string(), {}, what + " on " + url(path) + ": " + errno_text(err)};
  }

  std::string dc_host_;
  ContextPtr context_;
  std::unique_ptr<PrivateTickets> tickets_;
};

}  // namespace

Expected<std::unique_ptr<Sysvol>, StoreError> smb_sysvol(std::string dc_host, SmbCredentials credentials) {
  std::unique_ptr<PrivateTickets> tickets;
  if (!credentials.keytab.empty()) {
    auto acquired = PrivateTickets::acquire(credentials.keytab, credentials.principal);
    if (!acquired) return unexpected(StoreError{"smb://" + dc_host, {}, acquired.error()});
    tickets = std::move(*acquired);
  }
  ContextPtr context(smbc_new_context());
  if (!context) return unexpected(StoreError{"smb://" + dc_host, {}, "cannot create an SMB client context: " + errno_text(errno)});
  // WARD_SMB_DEBUG=<level>: libsmbclient's own log on stderr, for troubleshooting SYSVOL access.
  const char* debug = std::getenv("WARD_SMB_DEBUG");
  smbc_setDebug(context.get(), debug != nullptr ? std::atoi(debug) : 0);
  smbc_setOptionUseKerberos(context.get(), 1);
  smbc_setOptionFallbackAfterKerberos(context.get(), 0);  // never NTLM with a guessed user
  smbc_setOptionUseCCache(context.get(), 0);  // the Kerberos ccache, not a winbindd's (whose would it be?)
  smbc_setFunctionAuthDataWithContext(context.get(), no_password);
  if (smbc_init_context(context.get()) == nullptr) {
    return unexpected(StoreError{"smb://" + dc_host, {}, "cannot start the SMB client: " + errno_text(errno)});
  }
  return std::unique_ptr<Sysvol>(new SmbSysvol(std::move(dc_host), std::move(context), std::move(tickets)));
}

}  // namespace ward::store
