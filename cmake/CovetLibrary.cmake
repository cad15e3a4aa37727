# covet_add_library(<name>
#     [DEPENDS <covet library>...]        covet libraries, linked PUBLIC
#     [PACKAGES <find_package name>...]   system packages, found here and re-found
#                                         by the installed covet-<name>-config.cmake
#     [PUBLIC_LINK <target>...] [PRIVATE_LINK <target>...]
#     [PUBLIC_DEFINITIONS <def>...])
#
# The one place where a library declares its dependencies. It creates the target
# covet_<name> with the alias covet::<name>, records the dependency edges in
# global properties (read by CovetInstall.cmake to generate the package config),
# and installs headers, library and a per-component export set.
include_guard(GLOBAL)
include(GNUInstallDirs)

function(covet_target_warnings target)
    target_compile_options(${target} PRIVATE
        $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor>
        $<$<COMPILE_LANG_AND_ID:C,GNU,Clang>:-Wall -Wextra>)
    if(COVET_WARNINGS_AS_ERRORS)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

function(covet_add_library name)
    cmake_parse_arguments(ARG "" ""
        "DEPENDS;PACKAGES;PUBLIC_LINK;PRIVATE_LINK;PUBLIC_DEFINITIONS" ${ARGN})
    string(TOUPPER "${name}" NAME_UPPER)

    foreach(dep IN LISTS ARG_DEPENDS)
        string(TOUPPER "${dep}" DEP)
        if(NOT "${dep}" IN_LIST COVET_LIBRARIES)
            message(FATAL_ERROR "covet::${name} depends on unknown library '${dep}'")
        endif()
        if(NOT COVET_BUILD_${DEP})
            message(FATAL_ERROR "covet::${name} needs covet::${dep}: set COVET_BUILD_${DEP}=ON "
                                "or COVET_BUILD_${NAME_UPPER}=OFF")
        endif()
    endforeach()
    foreach(pkg IN LISTS ARG_PACKAGES)
        find_package(${pkg} REQUIRED)
    endforeach()

    file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp")
    set(target covet_${name})
    if(sources)
        add_library(${target} ${sources})
        set(scope PUBLIC)
        covet_target_warnings(${target})
        target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
    else()
        add_library(${target} INTERFACE)
        set(scope INTERFACE)
    endif()
    add_library(covet::${name} ALIAS ${target})
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME covet_${name})
    target_compile_features(${target} ${scope} cxx_std_20)
    target_include_directories(${target} ${scope}
        $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    foreach(dep IN LISTS ARG_DEPENDS)
        target_link_libraries(${target} ${scope} covet::${dep})
    endforeach()
    target_link_libraries(${target} ${scope} ${ARG_PUBLIC_LINK})
    if(ARG_PRIVATE_LINK)
        target_link_libraries(${target} PRIVATE ${ARG_PRIVATE_LINK})
    endif()
    target_compile_definitions(${target} ${scope} ${ARG_PUBLIC_DEFINITIONS})

    set_property(GLOBAL PROPERTY COVET_${name}_DEPENDS "${ARG_DEPENDS}")
    set_property(GLOBAL PROPERTY COVET_${name}_PACKAGES "${ARG_PACKAGES}")
    set_property(GLOBAL APPEND PROPERTY COVET_BUILT_LIBRARIES ${name})

    if(COVET_INSTALL)
        install(TARGETS ${target} EXPORT covet-${name}-targets COMPONENT covet_${name}
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
            LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
            RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
        install(DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}/include/"
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT covet_${name})
        install(EXPORT covet-${name}-targets NAMESPACE covet::
            DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/covet COMPONENT covet_${name})
    endif()
endfunction()
