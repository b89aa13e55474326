// descend's version, and the language it needs.
#pragma once

#if defined(_MSVC_LANG) ? _MSVC_LANG < 201703L : __cplusplus < 201703L
// The message stays on one line, as the compiler prints it.
// clang-format off
#error "descend needs C++17 or later: compile with -std=c++17 (CMake: target_compile_features(... cxx_std_17), which linking descend::descend sets for you)"
// clang-format on
#endif

#define DESCEND_VERSION_MAJOR 0
#define DESCEND_VERSION_MINOR 1
#define DESCEND_VERSION_PATCH 0
