# Checkpoints and PyTorch, both ways (tests/checkpoint_interop.cpp, its own
# main, driven by tests/reference/checkpoint_interop.py): for each optimizer,
# descend's checkpoint loaded into torch.optim (1.13) and a torch state_dict
# written as a descend checkpoint and loaded by descend; each side continues
# 30 steps and the parameters must agree within 1e-12 (relative). The Python
# reads and writes the safetensors file with json, struct, numpy and zlib
# only. Skipped (exit code 77) where the Python has no torch, and where there
# is no Python at DESCEND_INTEROP_PYTHON (Debian's python3-torch is for
# /usr/bin/python3). By hand:
#   /usr/bin/python3 tests/reference/checkpoint_interop.py \
#     --binary build/default/tests/checkpoint_interop --dir /tmp/interop
if(NOT TARGET descend::checkpoint)
  return()
endif()

add_executable(checkpoint_interop checkpoint_interop.cpp)
target_link_libraries(checkpoint_interop PRIVATE
  descend::precompiled descend::checkpoint descend_warnings)
descend_test_code_opt(checkpoint_interop)  # (tests/CMakeLists.txt)

set(DESCEND_INTEROP_PYTHON /usr/bin/python3 CACHE FILEPATH
  "The Python with torch and numpy that runs the checkpoint_interop test")
if(EXISTS ${DESCEND_INTEROP_PYTHON})
  add_test(NAME checkpoint_interop
    COMMAND ${DESCEND_INTEROP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/checkpoint_interop.py
      --binary $<TARGET_FILE:checkpoint_interop>
      --dir ${CMAKE_CURRENT_BINARY_DIR}/checkpoint_interop_files)
  set_tests_properties(checkpoint_interop PROPERTIES SKIP_RETURN_CODE 77)
else()
  add_test(NAME checkpoint_interop
    COMMAND ${CMAKE_COMMAND} -E echo "SKIPPED: no Python at ${DESCEND_INTEROP_PYTHON}")
  set_tests_properties(checkpoint_interop PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED:")
endif()
set_tests_properties(checkpoint_interop PROPERTIES LABELS interop TIMEOUT 300)
