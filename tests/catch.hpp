// Catch2 v2 (one header) or v3 (split headers), whichever the build found.
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#include <string>
// The v2 spellings the tests use, in v3.
using Catch::Approx;
namespace Catch {
inline Matchers::StringContainsMatcher Contains(const std::string& text,
                                                CaseSensitive cs = CaseSensitive::Yes) {
  return Matchers::ContainsSubstring(text, cs);
}
}  // namespace Catch
#else
#include <catch2/catch.hpp>
#endif
