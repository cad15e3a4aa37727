# covet_add_tests(<lib> [LINK <target>...] [LABEL <kind>] [TIMEOUT <s>])
#   Builds libs/<lib>/tests/*_test.cpp into one doctest executable covet_<lib>_tests
#   (build target <lib>_tests) and registers every TEST_CASE as its own ctest
#   entry labelled "<lib>;<kind>" (kind defaults to unit).
# covet_add_bench(<lib> [LINK <target>...])
#   Builds libs/<lib>/bench/*_bench.cpp into covet_<lib>_bench (Google Benchmark),
#   registered in ctest under the label "bench" as a short smoke run.
include_guard(GLOBAL)

function(covet_test_main_target out)
    if(NOT TARGET covet_test_main)
        add_library(covet_test_main OBJECT "${PROJECT_SOURCE_DIR}/tests/support/doctest_main.cpp")
        target_link_libraries(covet_test_main PUBLIC doctest::doctest)
        # Real std headers, so that std::error_code and friends stringify.
        target_compile_definitions(covet_test_main PUBLIC DOCTEST_CONFIG_USE_STD_HEADERS)
    endif()
    set(${out} covet_test_main PARENT_SCOPE)
endfunction()

function(covet_add_tests lib)
    cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "LINK" ${ARGN})
    if(NOT COVET_BUILD_TESTS)
        return()
    endif()
    if(NOT ARG_LABEL)
        set(ARG_LABEL unit)
    endif()
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/tests/*_test.cpp")
    covet_test_main_target(main)
    set(target covet_${lib}_tests)
    add_executable(${target} ${sources})
    target_link_libraries(${target} PRIVATE ${main} covet::${lib} ${ARG_LINK})
    target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/tests/support")
    covet_target_warnings(${target})
    add_custom_target(${lib}_tests DEPENDS ${target})
    doctest_discover_tests(${target}
        TEST_PREFIX "${lib}: "
        ADD_LABELS 0
        PROPERTIES LABELS "${lib};${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

function(covet_add_bench lib)
    cmake_parse_arguments(ARG "" "" "LINK" ${ARGN})
    if(NOT COVET_BUILD_BENCH)
        return()
    endif()
    file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/bench/*_bench.cpp")
    set(target covet_${lib}_bench)
    add_executable(${target} ${sources})
    target_link_libraries(${target} PRIVATE covet::${lib} benchmark::benchmark ${ARG_LINK})
    covet_target_warnings(${target})
    add_test(NAME "${lib}: bench smoke" COMMAND ${target} --benchmark_min_time=0.01)
    set_tests_properties("${lib}: bench smoke" PROPERTIES LABELS "${lib};bench" TIMEOUT 300)
endfunction()
