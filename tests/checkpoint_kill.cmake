# save_checkpoint() killed midway (tests/checkpoint_kill.cpp, its own main,
# POSIX): 200 children SIGKILLed at random points of their saves, the file
# checked intact after each. ~9 s at -O2 on a loaded 2-core machine; under the
# sanitizers (the asan preset) a save's fork and serialisation cost twice as
# much, so 100 kills there. By hand: checkpoint_kill --iterations N --seed X
# [--mb M]; --naive shows the checks catch a non-atomic write (it fails).
if(UNIX)
  add_executable(checkpoint_kill checkpoint_kill.cpp)
  target_link_libraries(checkpoint_kill PRIVATE descend::precompiled descend::checkpoint
    descend_warnings)
  set(checkpoint_kill_args)
  if(CMAKE_CXX_FLAGS MATCHES "-fsanitize")
    set(checkpoint_kill_args --iterations 100)
  endif()
  add_test(NAME checkpoint_kill COMMAND checkpoint_kill ${checkpoint_kill_args})
  set_tests_properties(checkpoint_kill PROPERTIES LABELS checkpoint TIMEOUT 120
    PASS_REGULAR_EXPRESSION "(^|\n)[0-9]+ kills: [0-9]+ mid-save, file intact every time\n"
    FAIL_REGULAR_EXPRESSION "FAILED|Sanitizer|runtime error")
endif()
