#pragma once
#include <covet/orm/driver.hpp>

#include <memory>

namespace covet::orm::detail {

task<std::unique_ptr<connection>> connect_sqlite(url u, connect_options options);

}  // namespace covet::orm::detail
