# Builds and runs tests/consumer/main.cpp with nothing but the flags that
# `pkg-config --cflags descend` prints for the installed package.
#   cmake -DPKG_CONFIG=pkg-config -DPREFIX=install-prefix -DPC_DIR=dir-of-descend.pc
#         -DCXX=c++ -DSTD=-std=c++17 -DSOURCE=main.cpp -DOUTPUT=exe -P pkg_config_consumer.cmake
set(ENV{PKG_CONFIG_PATH} "${PC_DIR}")
foreach(query modversion cflags variable=includedir)
  execute_process(COMMAND ${PKG_CONFIG} --${query} descend
    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  message("pkg-config --${query} descend: ${out}${err}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "pkg-config --${query} descend failed (PKG_CONFIG_PATH=${PC_DIR})")
  endif()
  string(REGEX REPLACE "=.*" "" key "${query}")
  set(${key} "${out}")
endforeach()

# The flags must name this install, not some other descend on the system.
get_filename_component(includedir "${variable}" REALPATH)
get_filename_component(expected "${PREFIX}/include" REALPATH)
if(NOT includedir STREQUAL expected)
  message(FATAL_ERROR "includedir is ${includedir}, expected ${expected}")
endif()

separate_arguments(cflags UNIX_COMMAND "${cflags}")
execute_process(COMMAND ${CXX} ${STD} ${cflags} ${SOURCE} -o ${OUTPUT} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${CXX} ${STD} ${cflags} ${SOURCE} failed")
endif()
execute_process(COMMAND ${OUTPUT} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${OUTPUT} exited with ${status}")
endif()
