#include "common/errno_text.h"

#include <system_error>

namespace ward {

std::string errno_text(std::string_view what, int error) {
  return std::string(what) + ": " + std::system_category().message(error);
}

}  // namespace ward
