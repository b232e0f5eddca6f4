// A provisioned service directory made once per ctest run and copied for every test that asks for
// the same one (tests/harness/samba_ad_instance.cpp: a Samba AD DC's `samba-tool domain provision`
// is ~8 CPU s and 10-20 s of wall time; a copy is well under a second).
//
// ctest gives every test WARD_TEST_CACHE_DIR (<build>/test-cache, cmake/WardTargets.cmake); a test
// run by hand has none and provisions as before. Under the cache dir, `<prefix>-<hash of key>` holds
// the provisioned tree and `key.txt`, the whole key (a hash collision or a stale tree is made
// again, not used). A lock file per key serialises the tests that want the same tree while one of
// them makes it; a tree is renamed into place only once complete, so a failed or killed provision
// leaves nothing that a later test would take for done.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "tests/harness/process.h"

namespace ward::test {

// Where ctest keeps provisioned trees for the run, if it does.
std::optional<std::filesystem::path> test_cache_dir();

// Makes `target` hold a copy of the tree `provision(root)` makes for `key` (provisioning it into
// the cache first if no complete one is there), with every occurrence of the cached tree's path in
// the files `rewritten` (relative paths) replaced by target's (a tree is provisioned at a
// path of its own, `<tree>.building`, then renamed: its files name that path). Returns whether a cached tree was
// copied (false: this call provisioned it). `target` must exist; what it already holds stays.
Expected<bool, HarnessError> provision_through_cache(
    const std::filesystem::path& cache_dir, const std::string& prefix, const std::string& key,
    const std::filesystem::path& target, const std::vector<std::filesystem::path>& rewritten,
    const std::function<Expected<void, HarnessError>(const std::filesystem::path& root)>& provision);

}  // namespace ward::test
