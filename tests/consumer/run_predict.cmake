# cmake -DWORK=dir -DSRC=predict -DMODE=add_subdirectory -DCOMMON=<configure args> -DDATA=<export dir>
#       -P run_predict.cmake
# Configures and builds tests/consumer/predict in a fresh folder, runs it on DATA/model.fpp and
# DATA/query.png (written by fastpp_tests_export's "[.consumer]" test), and compares its output with
# DATA/expected.txt: the same label and class index, and the probability within the bounds written there
# (learn.predict's +- 1e-5: the consumer is compiled with its own flags, so the last bits may differ).
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}${err}")
  endif()
  message(STATUS "${what}: ok\n${out}")
  set(last_out "${out}" PARENT_SCOPE)
endfunction()
run("configure" ${CMAKE_COMMAND} -S "${SRC}" -B "${WORK}/build" ${COMMON} -DCONSUME=${MODE})
run("build" ${CMAKE_COMMAND} --build "${WORK}/build")
run("predict" "${WORK}/build/consumer" "${DATA}/model.fpp" "${DATA}/query.png")

file(STRINGS "${DATA}/expected.txt" expected)
list(GET expected 0 want_label)
list(GET expected 1 want_index)
list(GET expected 2 lo)
list(GET expected 3 hi)
string(STRIP "${last_out}" got)
string(REPLACE " " ";" got "${got}")
list(LENGTH got n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "expected 'label index probability', the consumer printed: ${last_out}")
endif()
list(GET got 0 label)
list(GET got 1 index)
list(GET got 2 prob)
if(NOT label STREQUAL want_label OR NOT index EQUAL want_index)
  message(FATAL_ERROR "the consumer predicts '${label}' (${index}), learn.predict gave '${want_label}' (${want_index})")
endif()
# CMake compares numbers as doubles; it cannot subtract them, so the writer gave the bounds.
if(prob LESS lo OR prob GREATER hi)
  message(FATAL_ERROR "the consumer's probability ${prob} is outside learn.predict's [${lo}, ${hi}]")
endif()
message(STATUS "the consumer's prediction matches learn.predict: ${label} ${index} ${prob} in [${lo}, ${hi}]")
