// The file-system half of a Group Policy object on Active Directory (the Group Policy Template):
// the folder the GPO's gPCFileSysPath names, \\<domain>\SysVol\<domain>\Policies\{GUID}, with
// GPT.INI, whose Version the Group Policy engine compares with the GPO's versionNumber, and the
// MACHINE and USER folders. Ward's OpenLDAP layout has no SYSVOL.
//
// Ward reaches SYSVOL like the Windows tools do: over SMB to the domain controller it talks LDAP
// to (the domain name in the UNC path is a DFS name that resolves to any DC; the DC Ward just
// wrote the GPO to is the one that has it), authenticated with Kerberos (libsmbclient).
// On the DC itself, or through a mounted SysVol share, a local folder does as well.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/store/store_error.h"

namespace ward::store {

// \\server\share\a\b -> {server, share, {a, b}}. Errors say what is wrong with the text.
struct UncPath {
  std::string server;
  std::string share;
  std::vector<std::string> parts;

  static Expected<UncPath, std::string> parse(std::string_view text);
  UncPath child(std::string part) const;
  std::string to_string() const;  // \\server\share\a\b
};

// Files and folders on a SysVol share.
class Sysvol {
 public:
  virtual ~Sysvol() = default;
  // Makes the folder; one that exists already is fine.
  virtual Expected<void, StoreError> make_directory(const UncPath& path) = 0;
  // The file's bytes, or nullopt when it does not exist.
  virtual Expected<std::optional<std::string>, StoreError> read_file(const UncPath& path) = 0;
  // Creates or replaces the file.
  virtual Expected<void, StoreError> write_file(const UncPath& path, std::string_view bytes) = 0;
  // Removes a file or an empty folder; a missing one is fine.
  virtual Expected<void, StoreError> remove(const UncPath& path) = 0;
};

// SMB to `dc_host` (whatever server the UNC path names), Kerberos only. Tickets come from the
// default credential cache, or with `keytab` from a private one filled for `principal` (the
// process's KRB5CCNAME points at it while the object lives: not for threaded callers).
struct SmbCredentials {
  std::string keytab;     // empty: the caller's own tickets (kinit)
  std::string principal;  // with keytab, e.g. "Administrator@EXAMPLE.COM"
};
Expected<std::unique_ptr<Sysvol>, StoreError> smb_sysvol(std::string dc_host, SmbCredentials credentials);

// A local folder that is the SysVol share (e.g. /var/lib/samba/sysvol on a Samba DC, or where
// the share is mounted): \\any\SysVol\a\b is <root>/a/b.
std::unique_ptr<Sysvol> local_sysvol(std::filesystem::path root);

// GPT.INI: "[General]" with Version=<n> (CRLF lines, as Windows writes it).
std::string gpt_ini(std::uint32_t version);
// `text` with its [General] Version replaced by `version` (other lines kept; added if missing).
std::string with_gpt_version(std::string_view text, std::uint32_t version);
// The [General] Version of GPT.INI text, if it has one that parses.
std::optional<std::uint32_t> gpt_version(std::string_view text);

// The GPT of a new GPO: the folder, MACHINE, USER, and GPT.INI at version 0.
Expected<void, StoreError> create_gpt(Sysvol& sysvol, const UncPath& folder);
// Sets GPT.INI's Version (creating GPT.INI when missing).
Expected<void, StoreError> set_gpt_version(Sysvol& sysvol, const UncPath& folder, std::uint32_t version);
// Removes what create_gpt made (when a GPO cannot be completed).
void remove_gpt(Sysvol& sysvol, const UncPath& folder);

}  // namespace ward::store
