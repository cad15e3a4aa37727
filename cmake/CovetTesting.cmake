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

# doctest_discover_tests reads the test names as a CMake list: a ';' in a
# TEST_CASE name splits it into fragments that match no test, and ctest then
# reports them as passing without running anything. Refuse such names.
function(covet_check_test_names)
    file(GLOB_RECURSE test_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/libs/*_test.cpp"
         "${PROJECT_SOURCE_DIR}/apps/*_test.cpp")
    set(bad "")
    foreach(source IN LISTS test_sources)
        file(STRINGS "${source}" lines REGEX "TEST_CASE\\(\"[^\"]*;")
        if(lines)
            list(APPEND bad "${source}")
        endif()
    endforeach()
    if(bad)
        string(REPLACE ";" "\n  " bad "${bad}")
        message(FATAL_ERROR "TEST_CASE names must not contain ';' (ctest would skip them silently):\n  ${bad}")
    endif()
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
    target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/tests/support")
    covet_target_warnings(${target})
    add_test(NAME "${lib}: bench smoke" COMMAND ${target} --benchmark_min_time=0.01)
    set_tests_properties("${lib}: bench smoke" PROPERTIES LABELS "${lib};bench" TIMEOUT 300)
endfunction()

# covet_add_fuzzers(<lib> [SECONDS <n>] [LINK <target>...])
#   Each libs/<lib>/fuzz/<name>_fuzz.cpp defines LLVMFuzzerTestOneInput.
#   - With COVET_FUZZ=ON (clang; the `fuzz` preset instruments everything with
#     -fsanitize=fuzzer-no-link) it becomes a libFuzzer binary, run by ctest for
#     SECONDS (default 20) on libs/<lib>/fuzz/corpus/<name>/.
#   - Otherwise it links tests/support/fuzz_driver.cpp, which replays the corpus
#     and a few thousand deterministic mutations of it, so every build (ASan,
#     io_uring, clang) exercises the target.
#   ctest label: "<lib>;fuzz".
function(covet_add_fuzzers lib)
    cmake_parse_arguments(ARG "" "SECONDS" "LINK" ${ARGN})
    if(NOT COVET_BUILD_TESTS)
        return()
    endif()
    if(NOT ARG_SECONDS)
        set(ARG_SECONDS 20)
    endif()
    file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/*_fuzz.cpp")
    foreach(source IN LISTS sources)
        get_filename_component(name "${source}" NAME_WE)
        string(REGEX REPLACE "_fuzz$" "" short "${name}")
        set(target covet_${lib}_fuzz_${short})
        set(corpus "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${short}")
        if(COVET_FUZZ)
            add_executable(${target} ${source})
            target_link_options(${target} PRIVATE -fsanitize=fuzzer)
            set(run_dir "${CMAKE_CURRENT_BINARY_DIR}/fuzz-${short}")
            file(MAKE_DIRECTORY "${run_dir}")
            set(test_name "${lib}: fuzz ${short}")
            add_test(NAME "${test_name}"
                     COMMAND ${target} -max_total_time=${ARG_SECONDS} -timeout=10 -rss_limit_mb=2048
                             -artifact_prefix=${run_dir}/ ${run_dir} ${corpus})
        else()
            add_executable(${target} ${source} "${PROJECT_SOURCE_DIR}/tests/support/fuzz_driver.cpp")
            target_compile_definitions(${target} PRIVATE COVET_FUZZ_CORPUS_DIR="${corpus}")
            set(test_name "${lib}: fuzz ${short} (replay)")
            add_test(NAME "${test_name}" COMMAND ${target})
        endif()
        target_link_libraries(${target} PRIVATE covet::${lib} ${ARG_LINK})
        covet_target_warnings(${target})
        set_tests_properties("${test_name}" PROPERTIES LABELS "${lib};fuzz" TIMEOUT 600)
    endforeach()
endfunction()
