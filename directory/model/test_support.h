// Helpers for the model's tests: load the shipped examples and build small policies.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "directory/model/policy.h"
#include "directory/model/policy_json.h"

namespace ward::model::testing {

inline std::string source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir ? dir : ".";
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline Policy load_example_policy(const std::string& file) {
  auto policy = policy_from_json(read_text(source_dir() + "/schemas/examples/" + file));
  if (!policy) throw std::runtime_error("example " + file + " does not import: " + policy.error().front().to_string());
  return std::move(policy).value();
}

inline Guid guid(const char* text) { return *Guid::parse(text); }

}  // namespace ward::model::testing
