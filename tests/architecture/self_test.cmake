# Runs check_layers.cmake on fixture/ and expects it to fail naming the back-edge and the unused exception only.
# Usage: cmake -P self_test.cmake
set(here ${CMAKE_CURRENT_LIST_DIR})
execute_process(
  COMMAND ${CMAKE_COMMAND} -DROOT=${here}/fixture -DLAYERS=${here}/fixture/layers.txt -P ${here}/check_layers.cmake
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(expected
  "src/low/back_edge.cpp: #include <gatehouse/high/top.hpp>: low may not include high"
  "the exception 'allow low mid' is not used any more")
foreach(text IN LISTS expected)
  string(FIND "${err}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "check_layers.cmake did not report \"${text}\"; it said:\n${out}${err}")
  endif()
endforeach()
foreach(text "src/mid/allowed.cpp" "include/gatehouse/high/top.hpp" "allow mid high")
  string(FIND "${err}" "${text}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "check_layers.cmake reported \"${text}\", which the fixture allows:\n${err}")
  endif()
endforeach()
if(result EQUAL 0)
  message(FATAL_ERROR "check_layers.cmake succeeded on a back-edge")
endif()
message(STATUS "check_layers.cmake reports a back-edge and an unused exception")
