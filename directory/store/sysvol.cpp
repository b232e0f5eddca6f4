#include "directory/store/sysvol.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace ward::store {

namespace {

constexpr std::string_view kGptIni = "GPT.INI";
constexpr std::string_view kGeneralSection = "[General]";
constexpr std::string_view kVersionKey = "Version=";

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && lower(text.substr(0, prefix.size())) == lower(prefix);
}

// GPT.INI lines without their line ends.
std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(at, end - at));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    at = end + 1;
  }
  return out;
}

class LocalSysvol final : public Sysvol {
 public:
  explicit LocalSysvol(std::filesystem::path root) : root_(std::move(root)) {}

  Expected<void, StoreError> make_directory(const UncPath& path) override {
    std::error_code ec;
    std::filesystem::create_directory(local(path), ec);
    if (ec) return unexpected(error(path, "cannot make the folder: " + ec.message()));
    return {};
  }
  Expected<std::optional<std::string>, StoreError> read_file(const UncPath& path) override {
    const auto file = local(path);
    if (!std::filesystem::exists(file)) return std::optional<std::string>();
    std::ifstream in(file, std::ios::binary);
    if (!in) return unexpected(error(path, "cannot read"));
    std::ostringstream text;
    text << in.rdbuf();
    return std::optional<std::string>(text.str());
  }
  Expected<void, StoreError> write_file(const UncPath& path, std::string_view bytes) override {
    std::ofstream out(local(path), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return unexpected(error(path, "cannot write"));
    return {};
  }
  Expected<void, StoreError> remove(const UncPath& path) override {
    std::error_code ec;
    std::filesystem::remove(local(path), ec);
    if (ec) return unexpected(error(path, "cannot remove: " + ec.message()));
    return {};
  }

 private:
  std::filesystem::path local(const UncPath& path) const {
    std::filesystem::path out = root_;
    for (const auto& part : path.parts) out /= part;
    return out;
  }
  StoreError error(const UncPath& path, std::string message) const {
    return StoreError{path.to_string(), {}, message + " (" + local(path).string() + ")"};
  }
  std::filesystem::path root_;
};

}  // namespace

Expected<UncPath, std::string> UncPath::parse(std::string_view text) {
  if (text.size() < 3 || text.substr(0, 2) != "\\\\") return unexpected("'" + std::string(text) + "' is not a UNC path (\\\\server\\share\\...)");
  UncPath out;
  std::vector<std::string> pieces;
  std::size_t at = 2;
  while (at <= text.size()) {
    std::size_t end = text.find('\\', at);
    if (end == std::string_view::npos) end = text.size();
    const auto piece = text.substr(at, end - at);
    if (piece.empty() || piece == "." || piece == "..") {
      if (end == text.size() && piece.empty() && !pieces.empty()) break;  // a trailing backslash
      return unexpected("'" + std::string(text) + "' has an empty, '.' or '..' component");
    }
    pieces.emplace_back(piece);
    at = end + 1;
  }
  if (pieces.size() < 2) return unexpected("'" + std::string(text) + "' names no share");
  out.server = pieces[0];
  out.share = pieces[1];
  out.parts.assign(pieces.begin() + 2, pieces.end());
  return out;
}

UncPath UncPath::child(std::string part) const {
  UncPath out = *this;
  out.parts.push_back(std::move(part));
  return out;
}

std::string UncPath::to_string() const {
  std::string out = "\\\\" + server + "\\" + share;
  for (const auto& part : parts) out += "\\" + part;
  return out;
}

std::unique_ptr<Sysvol> local_sysvol(std::filesystem::path root) { return std::make_unique<LocalSysvol>(std::move(root)); }

std::string gpt_ini(std::uint32_t version) {
  return std::string(kGeneralSection) + "\r\n" + std::string(kVersionKey) + std::to_string(version) + "\r\n";
}

std::optional<std::uint32_t> gpt_version(std::string_view text) {
  bool in_general = false;
  for (const auto& line : lines_of(text)) {
    if (!line.empty() && line.front() == '[') {
      in_general = lower(line) == lower(kGeneralSection);
      continue;
    }
    if (!in_general || !starts_with_ignoring_case(line, kVersionKey)) continue;
    std::uint32_t value = 0;
    const char* begin = line.data() + kVersionKey.size();
    const char* end = line.data() + line.size();
    const auto [stop, ec] = std::from_chars(begin, end, value);
    if (ec == std::errc() && stop == end) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

std::string with_gpt_version(std::string_view text, std::uint32_t version) {
  const std::string version_line = std::string(kVersionKey) + std::to_string(version);
  std::vector<std::string> lines = lines_of(text);
  bool in_general = false;
  bool have_general = false;
  bool replaced = false;
  std::size_t general_at = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (!line.empty() && line.front() == '[') {
      in_general = lower(line) == lower(kGeneralSection);
      if (in_general && !have_general) {
        have_general = true;
        general_at = i;
      }
      continue;
    }
    if (in_general && starts_with_ignoring_case(line, kVersionKey) && !replaced) {
      lines[i] = version_line;
      replaced = true;
    }
  }
  if (!replaced) {
    if (have_general) {
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(general_at) + 1, version_line);
    } else {
      lines.insert(lines.begin(), {std::string(kGeneralSection), version_line});
    }
  }
  std::string out;
  for (const auto& line : lines) out += line + "\r\n";
  return out;
}

Expected<void, StoreError> create_gpt(Sysvol& sysvol, const UncPath& folder) {
  if (auto made = sysvol.make_directory(folder); !made) return made;
  for (const char* sub : {"MACHINE", "USER"}) {
    if (auto made = sysvol.make_directory(folder.child(sub)); !made) return made;
  }
  return sysvol.write_file(folder.child(std::string(kGptIni)), gpt_ini(0));
}

Expected<void, StoreError> set_gpt_version(Sysvol& sysvol, const UncPath& folder, std::uint32_t version) {
  const auto file = folder.child(std::string(kGptIni));
  auto text = sysvol.read_file(file);
  if (!text) return unexpected(text.error());
  return sysvol.write_file(file, *text ? with_gpt_version(**text, version) : gpt_ini(version));
}

void remove_gpt(Sysvol& sysvol, const UncPath& folder) {
  (void)sysvol.remove(folder.child(std::string(kGptIni)));
  for (const char* sub : {"MACHINE", "USER"}) (void)sysvol.remove(folder.child(sub));
  (void)sysvol.remove(folder);
}

}  // namespace ward::store
