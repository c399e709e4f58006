# Defaults for fastpp's own executables (tests, examples, benchmarks): warnings as errors, the
# instruction set, and a launcher that records each translation unit's compile time.
include_guard(GLOBAL)

# FASTPP_ARCH: the -march of those executables (x86-64 builds them as most user projects are built, the
# cpu backend then picking its AVX2 loops at run time); FASTPP_NATIVE=ON takes precedence.
set(FASTPP_ARCH "x86-64-v3" CACHE STRING "-march for fastpp's own tests, examples and benchmarks on x86-64")
if(FASTPP_NATIVE)
  set(FASTPP_ISA_FLAGS -march=native)
  set(FASTPP_ISA_NAME "native")
else()
  set(FASTPP_ISA_FLAGS -march=${FASTPP_ARCH})
  set(FASTPP_ISA_NAME "${FASTPP_ARCH}")
endif()
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(FASTPP_ISA_FLAGS "")
  set(FASTPP_ISA_NAME "${CMAKE_SYSTEM_PROCESSOR}-default")
endif()

# TU timing: scripts/time-tu.sh wraps the compiler and appends "<seconds> <object>" to a log that
# scripts/test.sh sorts. Opt in with -DFASTPP_TIME_TUS=ON.
option(FASTPP_TIME_TUS "Record each translation unit's compile time in <build>/tu-times.log" OFF)
if(FASTPP_TIME_TUS)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${PROJECT_SOURCE_DIR}/scripts/time-tu.sh;${CMAKE_BINARY_DIR}/tu-times.log")
endif()

function(fastpp_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra ${FASTPP_ISA_FLAGS})
  if(FASTPP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_compile_definitions(${target} PRIVATE FASTPP_ISA_NAME="${FASTPP_ISA_NAME}")
endfunction()
