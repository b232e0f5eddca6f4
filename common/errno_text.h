// The text of a failed system call's error: "what: reason", the reason from errno or a given
// error number (std::system_category, which is thread-safe where strerror need not be).
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

namespace ward {

std::string errno_text(std::string_view what, int error = errno);

}  // namespace ward
