# cmake -DPYTHON=... -DCHECKER=... -DROOT=... -DRC=<exit code> -DEXPECT=<text> -P expect.cmake
# Runs the include-arrow checker on ROOT; fails unless it exits with RC and prints EXPECT.
execute_process(COMMAND "${PYTHON}" "${CHECKER}" "${ROOT}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL RC)
  message(FATAL_ERROR "check_arrows.py on ${ROOT} exited with ${rc}, not ${RC}:\n${out}")
endif()
string(FIND "${out}" "${EXPECT}" pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "check_arrows.py on ${ROOT} did not say \"${EXPECT}\":\n${out}")
endif()
message(STATUS "${out}")
