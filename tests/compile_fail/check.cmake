# One compile-fail test: compiles SOURCE and checks the outcome against the
# file's `// expect: REGEX` line.
#   cmake -DCXX=c++ -DFLAGS=flag@@flag... -DSOURCE=case.cpp -DOUTPUT=case.o -P check.cmake
# REGEX OK: the file must compile. Any other REGEX: the compilation must fail
# and the first line of the compiler's output that reports an error (GCC's
# and Clang's "...: error: ...", "fatal error:", MSVC's "error C1234:") must
# match REGEX (CMake regex syntax). Notes ("required from here"), warnings
# and "In file included from" lines before it do not count.
string(REPLACE "@@" ";" FLAGS "${FLAGS}")

file(STRINGS ${SOURCE} expect_lines REGEX "^[ \t]*// expect: ")
list(LENGTH expect_lines count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "${SOURCE}: needs exactly one `// expect: REGEX` line, has ${count}")
endif()
string(REGEX REPLACE "^[ \t]*// expect: *" "" expect "${expect_lines}")
string(STRIP "${expect}" expect)

file(REMOVE ${OUTPUT})
execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C
    ${CXX} ${FLAGS} -c ${SOURCE} -o ${OUTPUT}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
file(REMOVE ${OUTPUT})

# The output as a list of lines. Brackets, which would keep CMake from
# splitting a list at the semicolons between them, and semicolons are
# replaced while splitting and put back in each line.
string(REPLACE "[" "<descend-lb>" escaped "${out}")
string(REPLACE "]" "<descend-rb>" escaped "${escaped}")
string(REPLACE ";" "<descend-sc>" escaped "${escaped}")
string(REPLACE "\n" ";" lines "${escaped}")
macro(restore line)
  string(REPLACE "<descend-lb>" "[" ${line} "${${line}}")
  string(REPLACE "<descend-rb>" "]" ${line} "${${line}}")
  string(REPLACE "<descend-sc>" ";" ${line} "${${line}}")
endmacro()

set(first_error "")
foreach(line IN LISTS lines)
  restore(line)
  if(line MATCHES "(^|[: ])(fatal )?error( [A-Z]+[0-9]+)?:")
    set(first_error "${line}")
    break()
  endif()
endforeach()

get_filename_component(name ${SOURCE} NAME)
if(expect STREQUAL "OK")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${name} must compile, but the compiler said:\n${out}")
  endif()
  message("${name} compiles, as it must")
  return()
endif()

if(status EQUAL 0)
  message(FATAL_ERROR "${name} compiled, but must fail with an error matching: ${expect}")
endif()
if(first_error STREQUAL "")
  message(FATAL_ERROR "${name}: the compiler failed (${status}) without an error line:\n${out}")
endif()
if(NOT first_error MATCHES "${expect}")
  # Where the expected message does come, if at all.
  set(later "")
  set(index 0)
  foreach(line IN LISTS lines)
    restore(line)
    if(line MATCHES "(^|[: ])(fatal )?error( [A-Z]+[0-9]+)?:")
      math(EXPR index "${index} + 1")
      if(line MATCHES "${expect}" AND later STREQUAL "")
        set(later "\nThe expected message is error line ${index}:\n  ${line}")
      endif()
    endif()
  endforeach()
  message(FATAL_ERROR "${name}: the first error line does not match `${expect}`:\n"
    "  ${first_error}${later}")
endif()
message("${name}: first error line, as expected:\n  ${first_error}")
