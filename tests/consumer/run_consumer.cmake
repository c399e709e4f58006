# cmake -DWORK=dir -DSRC=project -DMODE=find_package|add_subdirectory|fetchcontent [-DBUILD_DIR=fastpp build]
#       -DCOMMON=<configure args> -P run_consumer.cmake
# Configures, builds and runs the consumer project in a fresh folder.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(extra "")
if(MODE STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK}/prefix"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install failed:\n${out}")
  endif()
  set(extra "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
endif()
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${what}: ok\n${out}")
endfunction()
run("configure" ${CMAKE_COMMAND} -S "${SRC}" -B "${WORK}/build" ${COMMON} -DCONSUME=${MODE} ${extra})
run("build" ${CMAKE_COMMAND} --build "${WORK}/build")
run("run" "${WORK}/build/consumer")
