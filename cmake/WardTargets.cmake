# Shared build settings and helpers for Ward's targets.

set(WARD_WARNINGS
  -Wall -Wextra -Wpedantic
  -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wcast-align
  -Wformat=2 -Wimplicit-fallthrough -Wmissing-declarations -Wundef)
# Warnings are errors in the presets (CMakePresets.json) and so in CI, where the compiler is the one
# Ward is developed with; a distribution's or a user's plain `cmake -B build` may use another
# compiler or optimisation level whose new warnings must not break their build.
if(WARD_WERROR)
  list(APPEND WARD_WARNINGS -Werror)
endif()
# GCC 12 loses the system-header status (and any diagnostic pragma) of headers it reads from a
# precompiled header, and its -O2 middle-end warnings then report false positives inside
# std::string's and std::vector's inlined copies, all at char_traits.h:431 (with ward_code_pch:
# -Warray-bounds 16 in four files, -Wstringop-overflow 10 in three, -Wstringop-overread 6 in two;
# none with the same headers included as text; GCC bugs 105329, 105651). Those three go, not the
# PCH, which saves a quarter of a library file's compile time: out-of-bounds accesses are the ASan
# build's, which checks them where they happen, and clang's -Warray-bounds stays on there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND WARD_WARNINGS -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread)
endif()

# mold links Ward's sixty-odd executables about twice as fast as ld.bfd (agent_daemon_test: 2.2 s
# against 3.9 s); the default preset's -g1 (line tables only: backtraces, perf) compiles a heavy
# file in about 55 % of -g's time. Together they keep CI's two full builds short.
find_program(WARD_MOLD_LINKER mold)
if(WARD_MOLD_LINKER)
  add_link_options(-fuse-ld=mold)
endif()

# WARD_NATIVE_TESTS_ONLY: scripts/test runs every test once, in the ASan + UBSan build, which checks
# more than the normal build can; the normal build, compiled by the other compiler and optimised as
# shipped, builds what ships, the benchmarks and the demo's lab, and only the tests the ASan build
# cannot run or would weaken (`NATIVE`: User-mode Linux kernels, the packages, rates at full speed).
# Everything else made for the tests or the fuzzers (`ward_test`s, the gui tests, harness libraries,
# test programs and corpus generators, the fuzz targets' replays) stays defined but is built only
# when a native test needs it. Both builds used to compile and run all of it: the tests' own code
# was most of the normal build's compile time.
function(ward_not_built_unless_needed name)
  if(WARD_NATIVE_TESTS_ONLY)
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL TRUE)
  endif()
endfunction()

# What ctest gives every test: the source tree, and a folder for trees the tests provision once per
# build and copy (tests/harness/provision_cache.h: a Samba AD DC's provisioned domain).
set(WARD_TEST_ENVIRONMENT "WARD_SOURCE_DIR=${PROJECT_SOURCE_DIR};WARD_TEST_CACHE_DIR=${PROJECT_BINARY_DIR}/test-cache")

# Test sources compile without optimisation in every build type. The code under test is in the
# libraries, built as the preset says (-O2 in the default build); the tests' own files, mostly
# GoogleTest and gmock expansions, were 55 % of the default build's compile time and compile in
# about half of it at -O0 (ike_service_test.cpp 8.9 -> 4.6 CPU s, payload_test.cpp 6.3 -> 3.4).
set(WARD_TEST_COMPILE_OPTIONS -O0)

if(WARD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  # The tests' own files keep AddressSanitizer but not UndefinedBehaviorSanitizer: UBSan's checks
  # of GoogleTest's expansions were a third of such a file's compile time under clang
  # (wardd_strongswan_certificate_test.cpp 15.5 -> 10.8 CPU s), and the code under test, every
  # library and executable, keeps both. Nor line tables (-g0, 0.915x of their compile time in 12
  # paired compiles of five test files with their PCH): a report's frames in a test's own code name
  # the function without its line, those in the code under test keep theirs, and GoogleTest's
  # messages carry their own file and line.
  list(APPEND WARD_TEST_COMPILE_OPTIONS -fno-sanitize=undefined -g0)
endif()

# The fuzz and asan presets instrument all of Ward's code for libFuzzer's coverage, not only each
# target's own file: the libraries under test are where the edges are. Only the fuzz targets link
# libFuzzer's main (-fsanitize=fuzzer, ward_fuzz_target). The `ward-fuzz-targets` target builds them
# and what they link, nothing else; <build>/fuzz-targets.tsv lists each binary with its seed corpus
# for scripts/fuzz. The asan build has them so that CI's short fuzz run needs no third build of
# everything (the ASan runtime answers the coverage callbacks of the ordinary binaries).
# WARD_FUZZ_COVERAGE: `full` (-fsanitize=fuzzer-no-link: edges, indirect calls and every comparison's
# operands, the fuzz preset) or `edges` (inline edge counters only, the asan preset). Comparison
# tracing is a call per comparison in every test process of the asan build and a fifth of a library
# file's compile time there (5 files without their PCH: 37.5 CPU s full, 33.8 edges, 29.9 none);
# CI's five seconds per target replay the seeds and mutate a little, for which edges guide enough.
set(WARD_FUZZ_COVERAGE full CACHE STRING "libFuzzer coverage of Ward's code with WARD_FUZZ: full or edges")
set_property(CACHE WARD_FUZZ_COVERAGE PROPERTY STRINGS full edges)
if(WARD_FUZZ)
  if(WARD_FUZZ_COVERAGE STREQUAL "full")
    set(ward_coverage -fsanitize=fuzzer-no-link)
    set(ward_no_coverage -fno-sanitize=fuzzer-no-link)
  elseif(WARD_FUZZ_COVERAGE STREQUAL "edges")
    set(ward_coverage -fsanitize-coverage=inline-8bit-counters,pc-table)
    set(ward_no_coverage -fno-sanitize-coverage=inline-8bit-counters,pc-table)
  else()
    message(FATAL_ERROR "WARD_FUZZ_COVERAGE is '${WARD_FUZZ_COVERAGE}': it must be full or edges")
  endif()
  add_compile_options(${ward_coverage})
  # No test links libFuzzer: coverage of the tests' own files guides nothing (-14 % of their
  # compile time).
  list(APPEND WARD_TEST_COMPILE_OPTIONS ${ward_no_coverage})
  add_custom_target(ward-fuzz-targets)
  file(WRITE ${CMAKE_BINARY_DIR}/fuzz-targets.tsv "")
endif()

# ward_add_subdirectories() — adds every child folder that has a CMakeLists.txt, so that a new
# part of a component joins the build without editing a shared file.
function(ward_add_subdirectories)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()

# ward_code_precompiled_headers() — the standard headers Ward's own code includes most, compiled once
# per build for every library and executable (REUSE_FROM ward_code_pch) instead of once per file:
# parsing them was half or more of a typical library file's compile time (clang: 12 sampled files,
# 27.3 -> 19.6 CPU s; wardd, wardctl and ward-dir with all they link, from cold: 754 -> 523 CPU s;
# GCC: the same files 32.3 -> 24.4). nlohmann/json is left out: its bigger PCH cost more to load than
# the files that include it saved. Targets whose options differ (test code, Qt's -fPIC, the fuzz
# targets' -fsanitize=fuzzer) use their own or none; a misfit is refused by the compiler, not misused
# (as for ward_test_pch below).
function(ward_code_precompiled_headers)
  add_library(ward_code_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/code_pch.cpp)
  target_compile_options(ward_code_pch PRIVATE ${WARD_WARNINGS})
  target_precompile_headers(ward_code_pch PRIVATE
    <algorithm> <array> <atomic> <chrono> <compare> <condition_variable> <cstddef> <cstdint> <cstdio>
    <cstdlib> <cstring> <deque> <filesystem> <fstream> <functional> <list> <map> <memory> <mutex>
    <optional> <ostream> <set> <span> <sstream> <string> <string_view> <thread> <type_traits>
    <unordered_map> <utility> <variant> <vector>)
endfunction()

# ward_reuse_pch(NAME HOLDER) — gives a target the precompiled headers of HOLDER (ward_code_pch for
# Ward's code, ward_test_pch for test targets) when the build has them.
function(ward_reuse_pch name holder)
  if(TARGET ${holder})
    set_target_properties(${name} PROPERTIES PRECOMPILE_HEADERS_REUSE_FROM ${holder})
  endif()
endfunction()

# ward_unity_build(NAME) — with WARD_UNITY_BUILD, compiles the target's files in batches, each batch one
# compiler run (CMake's UNITY_BUILD): the headers, inline functions and template instances the files
# share are parsed and generated once per batch instead of once per file (scripts/test's builds from
# cold, measured: default 996 -> 575 CPU s, asan 1,557 -> 1,140). scripts/build turns it on; an
# edit-compile cycle is faster file by file, so the presets leave it off (which also keeps every
# file compiling on its own includes). A file that must not share its
# translation unit (one defining OPENSSL_SUPPRESS_DEPRECATED before its includes) sets
# SKIP_UNITY_BUILD_INCLUSION; names in an anonymous namespace must be unique within the target.
function(ward_unity_build name)
  if(WARD_UNITY_BUILD)
    set_target_properties(${name} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
    # GCC takes a batch's .cpp files for headers and warns of a class there with a member whose type
    # is in an anonymous namespace; within one .cpp file that is what the namespace is for.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${name} PRIVATE -Wno-subobject-linkage)
    endif()
  endif()
endfunction()

# ward_library(NAME SOURCES ... [DEPS ...] [NO_CODE_PCH] [TEST_CODE] [FOR_TESTS]) — a static library
# with Ward's warnings. NO_CODE_PCH: without ward_code_pch (a target whose options cannot match it,
# e.g. Qt's -fPIC). TEST_CODE: part of the tests (fixtures, harnesses), compiled as the tests' own
# files (WARD_TEST_COMPILE_OPTIONS), without a PCH (GoogleTest's needs its definitions, which a
# harness that does not link it lacks). FOR_TESTS: compiled as code (fuzz targets link it) but made
# for the tests and fuzzers, never shipped; TEST_CODE implies it (see WARD_NATIVE_TESTS_ONLY).
function(ward_library name)
  cmake_parse_arguments(ARG "NO_CODE_PCH;TEST_CODE;FOR_TESTS" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${WARD_WARNINGS})
  ward_unity_build(${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  if(ARG_TEST_CODE)
    target_compile_options(${name} PRIVATE ${WARD_TEST_COMPILE_OPTIONS})
  elseif(NOT ARG_NO_CODE_PCH)
    ward_reuse_pch(${name} ward_code_pch)
  endif()
  if(ARG_TEST_CODE OR ARG_FOR_TESTS)
    ward_not_built_unless_needed(${name})
  endif()
endfunction()

# ward_executable(NAME SOURCES ... [DEPS ...] [NO_CODE_PCH] [FOR_TESTS]) — FOR_TESTS: a program the
# tests run or one that writes a fuzz corpus, never shipped (see WARD_NATIVE_TESTS_ONLY).
function(ward_executable name)
  cmake_parse_arguments(ARG "NO_CODE_PCH;FOR_TESTS" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${WARD_WARNINGS})
  ward_unity_build(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  if(NOT ARG_NO_CODE_PCH)
    ward_reuse_pch(${name} ward_code_pch)
  endif()
  if(ARG_FOR_TESTS)
    ward_not_built_unless_needed(${name})
  endif()
endfunction()

# ward_test_precompiled_headers() — GoogleTest's header and the standard ones the tests use,
# compiled once per build for every ward_test (REUSE_FROM ward_test_pch) instead of once per test
# file: at -O0 they were a third to a half of a test file's compile time (ip_test.cpp 2.05 -> 0.76
# CPU s, classifier_test.cpp 5.61 -> 3.05; under clang's ASan build 11.4 -> 8.6 for
# wardd_strongswan_certificate_test.cpp). Both compilers check a PCH against each file's options
# and refuse, not misuse, one that does not fit (GCC: -Winvalid-pch with -Werror; clang: an error);
# a test's own -D definitions are allowed beside the PCH's, which has none of them. Called after
# find_package(GTest).
function(ward_test_precompiled_headers)
  add_library(ward_test_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/test_pch.cpp)
  target_compile_options(ward_test_pch PRIVATE ${WARD_WARNINGS} ${WARD_TEST_COMPILE_OPTIONS})
  target_link_libraries(ward_test_pch PRIVATE GTest::gtest GTest::gmock nlohmann_json::nlohmann_json)
  target_precompile_headers(ward_test_pch PRIVATE
    <gtest/gtest.h> <nlohmann/json.hpp>
    <algorithm> <chrono> <filesystem> <fstream> <functional> <map> <memory> <optional> <set> <sstream>
    <string> <thread> <vector>)
endfunction()

# ward_test(NAME SOURCES ... [DEPS ...] [LABELS ...] [ONE_PROCESS] [RUN_SERIAL] [NATIVE]) — a
# GoogleTest binary registered with ctest. Each test runs in a process of its own, except with
# ONE_PROCESS: then ctest runs the whole binary once (one ctest test), so that an expensive service
# the binary shares (a Samba AD DC) starts once. RUN_SERIAL: ctest runs its tests with no other test
# beside them (for a test of whether something keeps up under load, which other tests must not
# decide). NATIVE: a sanitizer build cannot run it or would weaken it, so a WARD_NATIVE_TESTS_ONLY
# build builds and runs it; other tests are left to the sanitizer build there.
include(GoogleTest)
function(ward_test name)
  cmake_parse_arguments(ARG "ONE_PROCESS;RUN_SERIAL;NATIVE" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${WARD_WARNINGS} ${WARD_TEST_COMPILE_OPTIONS})
  ward_unity_build(${name})
  set(serial)
  if(ARG_RUN_SERIAL)
    set(serial RUN_SERIAL TRUE)
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  ward_reuse_pch(${name} ward_test_pch)
  if(WARD_NATIVE_TESTS_ONLY AND NOT ARG_NATIVE)
    ward_not_built_unless_needed(${name})
    return()
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(ARG_ONE_PROCESS)
    add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "${WARD_TEST_ENVIRONMENT}" ${serial})
    return()
  endif()
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    DISCOVERY_TIMEOUT 60)
  # Not through gtest_discover_tests' PROPERTIES: CMake 3.25 writes each list element there as a
  # word of its own, so LABELS "netns;service" and the two-entry ENVIRONMENT paired the wrong words
  # (RUN_SERIAL was lost, WARD_TEST_CACHE_DIR never set). ctest includes this file after the one
  # that lists the binary's tests (${name}_TESTS); bracket arguments keep each list whole.
  set(props "${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake")
  file(WRITE ${props} "foreach(test IN LISTS ${name}_TESTS)\n"
    "  set_tests_properties(\"\${test}\" PROPERTIES LABELS [==[${ARG_LABELS}]==] "
    "ENVIRONMENT [==[${WARD_TEST_ENVIRONMENT}]==] ${serial})\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${props})
endfunction()

# ward_uml_test(NAME SOURCES ... [DEPS ...] [LABELS ...] [TIMEOUT seconds]) — a GoogleTest binary
# whose tests run inside a User-mode Linux kernel, a kernel with ESP and AH
# (tests/harness/uml_kernel.h): ctest runs it once on the host, it boots the kernel once and runs
# itself inside (tests/harness/uml_test_main.cpp). Labels netns, root and uml are added; exit 77
# (skipped, with the reason) where UML cannot run. An AddressSanitizer build never can (ASan's
# shadow memory needs more address space than UML gives a process: uml_kernel.cpp): there the
# binary is neither built by default nor registered, and the default build runs these tests.
function(ward_uml_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${WARD_WARNINGS} ${WARD_TEST_COMPILE_OPTIONS})
  ward_unity_build(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} ward_test_uml_main GTest::gtest GTest::gmock)
  ward_reuse_pch(${name} ward_test_pch)
  if(WARD_SANITIZE)
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL TRUE)
    return()
  endif()
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  # The kernel's own limit (WARD_UML_LIMIT_SECONDS) ends it before ctest's, so its output is kept.
  # COST: each binary runs 35-125 s in one piece, so ctest starts them first (as the e2e labs);
  # started in definition order they ended a clean run's default stage alone.
  math(EXPR uml_limit "${ARG_TIMEOUT} - 30")
  set_tests_properties(${name} PROPERTIES LABELS "netns;root;uml;${ARG_LABELS}" SKIP_RETURN_CODE 77
    TIMEOUT ${ARG_TIMEOUT} COST 1000
    ENVIRONMENT "${WARD_TEST_ENVIRONMENT};WARD_UML_LIMIT_SECONDS=${uml_limit}")
endfunction()

# ward_fuzz_target(NAME SOURCES ... DEPS ... CORPUS dir)
# With WARD_FUZZ (clang) the target is a libFuzzer binary. Otherwise it links a small driver that
# replays the seed corpus, and ctest runs that replay so every seed keeps parsing without a crash.
function(ward_fuzz_target name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;DEPS" ${ARGN})
  if(WARD_FUZZ)
    add_executable(${name} ${ARG_SOURCES})
    target_compile_options(${name} PRIVATE ${WARD_WARNINGS} -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_dependencies(ward-fuzz-targets ${name})
    file(APPEND ${CMAKE_BINARY_DIR}/fuzz-targets.tsv "${name}\t${CMAKE_CURRENT_BINARY_DIR}/${name}\t${ARG_CORPUS}\n")
    # Given files rather than a directory, libFuzzer runs each once and writes nothing: the replay.
    add_test(NAME ${name}.replay COMMAND sh -c "exec \"$0\" \"$1\"/*" $<TARGET_FILE:${name}> ${ARG_CORPUS})
    set_tests_properties(${name}.replay PROPERTIES LABELS "fuzz")
  else()
    add_executable(${name} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
    target_compile_options(${name} PRIVATE ${WARD_WARNINGS})
    ward_reuse_pch(${name} ward_code_pch)
    ward_not_built_unless_needed(${name})
    if(NOT WARD_NATIVE_TESTS_ONLY)
      add_test(NAME ${name}.replay COMMAND ${name} ${ARG_CORPUS})
      set_tests_properties(${name}.replay PROPERTIES LABELS "fuzz")
    endif()
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()

# ward_benchmark(NAME SOURCES ... DEPS ...) — built, not run by ctest (figures are not tests).
function(ward_benchmark name)
  if(NOT WARD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${WARD_WARNINGS})
  ward_unity_build(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  ward_reuse_pch(${name} ward_code_pch)
endfunction()
