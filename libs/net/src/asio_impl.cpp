// Asio is compiled exactly once, here (ASIO_SEPARATE_COMPILATION is a public
// definition of covet::net): every other translation unit only sees
// declarations, which keeps compile times of code using covet::net down.
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
