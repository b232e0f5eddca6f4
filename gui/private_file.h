// Writing a file that may hold secrets (preshared keys): created 0600, written whole, then renamed
// over the target, so a reader never sees half a file and no other user can read it at any time.
#pragma once

#include <optional>
#include <string>

#include <QString>

namespace ward::gui {

// Returns the reason on failure ("cannot create temporary file ...: Permission denied").
std::optional<QString> write_private_file(const QString& path, const std::string& content);

}  // namespace ward::gui
