# Packs the source tree (without .git and build trees) into ARCHIVE, as a
# release tarball would be, for the FetchContent consumer.
#   cmake -DSOURCE_DIR=src -DBINARY_DIR=build -DARCHIVE=out.tar.gz -P archive_source.cmake
file(GLOB entries RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/*)
get_filename_component(binary_dir ${BINARY_DIR} REALPATH)
set(files)
foreach(entry IN LISTS entries)
  get_filename_component(path ${SOURCE_DIR}/${entry} REALPATH)
  string(FIND "${binary_dir}/" "${path}/" inside)
  if(entry STREQUAL ".git" OR entry MATCHES "^build" OR inside EQUAL 0)
    continue()
  endif()
  list(APPEND files ${entry})
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf ${ARCHIVE} -- ${files}
  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "could not write ${ARCHIVE}")
endif()
message("${ARCHIVE}: ${files}")
