#pragma once
// The PostgreSQL driver for covet::orm. Including this header (and linking
// covet::postgres) registers the schemes "postgresql" and "postgres":
//
//   #include <covet/postgres/postgres.hpp>
//   auto db = covet::orm::database::open("postgresql://app:secret@db:5432/shop?sslmode=require");
//   auto db = covet::orm::database::open("postgresql://postgres@/test?host=/run/postgresql");
//
// URL query parameters other than host/port are passed to libpq as
// connection keywords (sslmode, application_name, connect_timeout, ...).
//
// How it runs: libpq in non-blocking mode, its socket wrapped in an Asio
// stream descriptor; the connection is in pipeline mode, so statements of
// concurrent callers are sent back to back and their results read in order
// (with database_options::pool_mode = per_thread, all statements outside
// transactions share one connection per database). Each statement is
// prepared once per connection (named statement cache). Parameters go as
// text (blobs as binary bytea); results come back as text.
//
// When the server goes away (restart), the statements in flight fail with
// error(connection_lost, "08006"); the broken connection is discarded and the
// next call connects again. Connections hold Asio objects: use and close a
// database on the io_context (runtime, or one block_on) it was used on.

namespace covet::postgres {

/// Registers the driver (idempotent). The header calls it for you.
bool register_driver();

namespace detail {
inline const bool registered = covet::postgres::register_driver();
}  // namespace detail

}  // namespace covet::postgres
