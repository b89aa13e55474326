# Configures descend as the top-level project without CMAKE_BUILD_TYPE and
# checks that it chose Release.
#   cmake -DSOURCE_DIR=src -DBINARY_DIR=dir -DGENERATOR=gen -P default_build_type.cmake
file(REMOVE_RECURSE ${BINARY_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
    -DDESCEND_BUILD_TESTS=OFF -DDESCEND_BUILD_EXAMPLES=OFF
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configuring ${SOURCE_DIR} failed")
endif()
file(STRINGS ${BINARY_DIR}/CMakeCache.txt build_type REGEX "^CMAKE_BUILD_TYPE:")
message("${build_type}")
if(NOT build_type STREQUAL "CMAKE_BUILD_TYPE:STRING=Release")
  message(FATAL_ERROR "expected CMAKE_BUILD_TYPE:STRING=Release")
endif()
