#pragma once
// Versioned SQL migrations, on SQLite and PostgreSQL.
//
//   migrations/0001_create_users.up.sql     migrations/0001_create_users.down.sql
//   migrations/0002_add_email.up.sql        migrations/0002_add_email.down.sql
//
//   covet::orm::migrator m(db, covet::orm::load_migrations("migrations"));
//   co_await m.up();          // applies every pending migration, in version order
//   co_await m.down(1);       // reverts the newest applied one
//   auto rows = co_await m.status();
//
// Applied migrations are recorded in schema_migrations (version, name,
// checksum of the up script, applied_at). Each migration runs in its own
// transaction together with its schema_migrations row, under a lock: on
// PostgreSQL a transaction-level advisory lock, on SQLite the database write
// lock (BEGIN IMMEDIATE), so two migrators never apply the same step twice.
// An applied migration whose up script changed since is an error (checksum).
// The command-line front end is tools/covet-migrate.

#include <covet/net/task.hpp>
#include <covet/orm/database.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace covet::orm {

struct migration {
    std::int64_t version = 0;
    std::string name;
    std::string up;
    std::string down;
    /// Hex FNV-1a 64 of the up script (a change detector, not a security measure).
    std::string checksum;
};

struct migration_status {
    std::int64_t version = 0;
    std::string name;
    bool applied = false;
    std::optional<std::string> applied_at;
    /// Applied with a different up script than the file's.
    bool changed = false;
};

/// Reads NNNN_name.up.sql / NNNN_name.down.sql from `dir`, sorted by version.
/// Throws error(invalid_argument) for a missing up file or a duplicate version.
std::vector<migration> load_migrations(const std::filesystem::path& dir);

/// Creates the next pair of empty files for `name`; returns the up file's path.
std::filesystem::path create_migration(const std::filesystem::path& dir, const std::string& name);

std::string migration_checksum(std::string_view sql);

class migrator {
public:
    migrator(database& db, std::vector<migration> migrations);

    task<std::vector<migration_status>> status();
    /// Applies pending migrations up to `target` (all by default); returns how many.
    task<int> up(std::optional<std::int64_t> target = std::nullopt);
    /// Reverts the `steps` newest applied migrations; returns how many.
    task<int> down(int steps = 1);

private:
    task<void> ensure_table();
    task<void> lock(transaction& tx);

    database* db_;
    std::vector<migration> migrations_;
};

}  // namespace covet::orm
