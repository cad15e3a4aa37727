# Installs the covet build in BUILD_DIR into WORK_DIR/prefix, configures and
# builds the consumer project PROJECT_DIR against that prefix only, and runs
# its EXECUTABLE. With CHECK_MISSING_COMPONENT, also checks that asking for a
# component that does not exist fails to configure.
function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    message(STATUS "${out}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

run(${CMAKE_COMMAND} -S "${PROJECT_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${CXX_FLAGS}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/${EXECUTABLE}")

if(CHECK_MISSING_COMPONENT)
    execute_process(
        COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer/missing-component"
                -B "${WORK_DIR}/missing" -G "${GENERATOR}" -DCMAKE_PREFIX_PATH=${prefix}
        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(rc EQUAL 0)
        message(FATAL_ERROR "find_package(covet COMPONENTS no_such_library) should have failed")
    endif()
    message(STATUS "a missing component fails as it should")
endif()
