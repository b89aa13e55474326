# The checkpoint loader under libFuzzer (tests/fuzz_checkpoint.cpp): for any
# bytes, load_checkpoint_bytes() loads or throws CheckpointError, and a
# refused load changes nothing.
#
# fuzz_checkpoint_replay: the same target with a main() of its own
# (DESCEND_FUZZ_REPLAY), built with this build's compiler and flags (in the
# asan preset, ASan and UBSan); ctest runs it over the committed corpus,
# tests/fuzz/checkpoint_corpus. It also writes the seed corpus:
#   fuzz_checkpoint_replay --write-seeds DIR
#
# fuzz_checkpoint: the libFuzzer target, with Clang and -DDESCEND_FUZZ=ON:
#   cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 \
#     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDESCEND_FUZZ=ON
#   cmake --build build/fuzz --target fuzz_checkpoint fuzz_checkpoint_replay
#   mkdir -p /tmp/corpus && build/fuzz/tests/fuzz_checkpoint_replay --write-seeds /tmp/corpus
#   build/fuzz/tests/fuzz_checkpoint /tmp/corpus tests/fuzz/checkpoint_corpus \
#     -dict=tests/fuzz/checkpoint.dict -max_total_time=600 -rss_limit_mb=2048 -timeout=10
# (new inputs go to the first directory), then, to keep the committed corpus
# small, merge what adds coverage into it:
#   build/fuzz/tests/fuzz_checkpoint -merge=1 tests/fuzz/checkpoint_corpus /tmp/corpus
if(NOT TARGET descend::checkpoint)
  return()
endif()

add_executable(fuzz_checkpoint_replay fuzz_checkpoint.cpp)
target_link_libraries(fuzz_checkpoint_replay PRIVATE
  descend::precompiled descend::checkpoint descend_warnings)
descend_test_code_opt(fuzz_checkpoint_replay)  # (tests/CMakeLists.txt)
target_compile_definitions(fuzz_checkpoint_replay PRIVATE DESCEND_FUZZ_REPLAY)
add_test(NAME fuzz_checkpoint_replay
  COMMAND fuzz_checkpoint_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/checkpoint_corpus)
set_tests_properties(fuzz_checkpoint_replay PROPERTIES LABELS fuzz TIMEOUT 300
  PASS_REGULAR_EXPRESSION "(^|\n)[1-9][0-9]* inputs replayed"
  FAIL_REGULAR_EXPRESSION "FINDING|Sanitizer|runtime error")

option(DESCEND_FUZZ "Build the libFuzzer target fuzz_checkpoint (Clang only)" OFF)
if(DESCEND_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DESCEND_FUZZ=ON needs Clang (libFuzzer); this is ${CMAKE_CXX_COMPILER_ID}")
  endif()
  add_executable(fuzz_checkpoint fuzz_checkpoint.cpp)
  target_link_libraries(fuzz_checkpoint PRIVATE
    descend::descend descend::checkpoint descend_warnings)
  target_compile_options(fuzz_checkpoint PRIVATE
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(fuzz_checkpoint PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
