#pragma once
// Fresh directories for tests that need real files (SQLite databases,
// migrations, throwaway servers): one checked mkdtemp for all of them.

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace covet::testing {

/// Creates a new empty directory "<prefix>-XXXXXX" under the system temp
/// directory; throws std::system_error if it cannot.
inline std::filesystem::path make_temp_dir(std::string_view prefix)
{
    std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    }
    return tmpl;
}

/// A make_temp_dir() directory, removed with its contents on destruction.
struct temp_dir {
    explicit temp_dir(std::string_view prefix = "covet") : path(make_temp_dir(prefix)) {}
    ~temp_dir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    std::filesystem::path path;
};

}  // namespace covet::testing
