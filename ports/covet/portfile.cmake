# Overlay port: builds covet from the checkout that contains this port
# (vcpkg install covet[net] --overlay-ports=<repo>/ports). A registry port
# would replace SOURCE_PATH with vcpkg_from_github(...) at a release tag.
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

# covet::base is the core and always built; every other library is a feature.
vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        json     COVET_BUILD_JSON
        router   COVET_BUILD_ROUTER
        net      COVET_BUILD_NET
        io-uring COVET_IO_URING
        pool     COVET_BUILD_POOL
        cache    COVET_BUILD_CACHE
        redis    COVET_BUILD_REDIS
        orm      COVET_BUILD_ORM
        postgres COVET_BUILD_POSTGRES
        http     COVET_BUILD_HTTP
        web      COVET_BUILD_WEB
        ws       COVET_BUILD_WS
        web-orm  COVET_BUILD_WEB_ORM
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        -DCOVET_BUILD_TESTS=OFF
        -DCOVET_BUILD_BENCH=OFF
        -DCOVET_BUILD_APPS=OFF
        -DCOVET_INSTALL=ON
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME covet CONFIG_PATH lib/cmake/covet)
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
