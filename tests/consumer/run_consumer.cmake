# cmake -DWORK=dir -DSRC=project -DMODE=find_package|add_subdirectory|fetchcontent [-DBUILD_DIR=fastpp build]
#       -DCOMMON=<configure args> -P run_consumer.cmake
# Configures, builds and runs the consumer project in a fresh folder.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
# MODE=fresh_install also takes -DFASTPP_CONFIGURE=<fastpp configure args> -DFASTPP_SOURCE_DIR=<fastpp>
#   [-DEXPECT_CUDA_SKIPPED=ON]: fastpp is configured in WORK/fastpp and installed at once, as the README says.
set(extra "")
if(MODE STREQUAL "fresh_install")
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${FASTPP_SOURCE_DIR}" -B "${WORK}/fastpp" ${FASTPP_CONFIGURE}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring fastpp failed:\n${out}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${WORK}/fastpp" --prefix "${WORK}/prefix"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install right after configuring failed:\n${out}")
  endif()
  # With nvcc the fastpp_cuda target existed but was not built: the install must have said so.
  if(EXPECT_CUDA_SKIPPED STREQUAL "ON" AND NOT out MATCHES "fastpp::cuda was not built")
    message(FATAL_ERROR "fastpp was configured with FASTPP_CUDA=ON, but the install did not meet the unbuilt "
                        "fastpp_cuda target:\n${out}")
  endif()
  message(STATUS "configure + install: ok\n${out}")
  set(MODE find_package)
  set(extra "-DCMAKE_PREFIX_PATH=${WORK}/prefix" -DEXPECT_NO_CUDA=ON)
elseif(MODE STREQUAL "find_package")
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
