# ctest isa.symbols: the objects of descend::precompiled's wider kernels
# (src/isa_avx2.cpp, src/isa_avx512.cpp) must define no symbol the linker
# could share with another file but their own namespace's kernels. An inline
# function of Eigen's or descend's compiled there for AVX2 and left out of
# line would be a weak symbol the linker may pick for every file, and a CPU
# without AVX2 would then fault in the baseline's code. And the library's
# own file (src/precompiled.cpp, BASELINE) must call every one of those
# kernels: without that, a dispatch that never happens would pass every
# other test, since every level gives the same bits.
#   cmake -DNM=nm -DOBJECTS="a.o;b.o" -DBASELINE=c.o -P isa_symbols.cmake
set(failed "")
foreach(object ${OBJECTS})
  if(object MATCHES "isa_(avx2|avx512)")
    set(level ${CMAKE_MATCH_1})
  else()
    message(FATAL_ERROR "isa_symbols: ${object} is not an isa_avx2 or isa_avx512 object")
  endif()
  execute_process(COMMAND ${NM} -C --defined-only --extern-only ${object}
    OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "isa_symbols: ${NM} ${object} failed")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  set(kernels 0)
  foreach(line ${lines})
    if(line STREQUAL "")
      continue()
    endif()
    if(line MATCHES " descend::detail::isa_${level}::run_out_of_line<")
      math(EXPR kernels "${kernels} + 1")
    elseif(NOT line MATCHES " (__asan|__ubsan|__sanitizer|_GLOBAL__|DW\\.ref\\.__gxx_personality_v0$)")
      list(APPEND failed "${object}: ${line}")
    endif()
  endforeach()
  message(STATUS "isa_symbols: ${object}: ${kernels} kernels")
  if(kernels EQUAL 0)
    list(APPEND failed "${object}: no kernels at all")
  endif()
  execute_process(COMMAND ${NM} -C --undefined-only ${BASELINE}
    OUTPUT_VARIABLE needed RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "isa_symbols: ${NM} ${BASELINE} failed")
  endif()
  string(REGEX MATCHALL "descend::detail::isa_${level}::run_out_of_line<" calls "${needed}")
  list(LENGTH calls called)
  if(NOT called EQUAL kernels)
    list(APPEND failed "${BASELINE} calls ${called} of the ${kernels} ${level} kernels")
  endif()
endforeach()
if(failed)
  string(REPLACE ";" "\n  " failed "${failed}")
  message(FATAL_ERROR "isa_symbols: symbols outside the level's namespace:\n  ${failed}")
endif()
