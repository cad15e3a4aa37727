// Migrations: files, checksums, schema_migrations, the lock.
#include <covet/orm/migrate.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

namespace covet::orm {

namespace {

std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string now_utc()
{
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

namespace detail_migrate {
struct applied {
    std::int64_t version = 0;
    std::string name;
    std::string checksum;
    std::string applied_at;
};
COVET_REFLECT(applied, version, name, checksum, applied_at);
}  // namespace detail_migrate

std::string migration_checksum(std::string_view sql)
{
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char ch : sql) {
        h = (h ^ ch) * 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::vector<migration> load_migrations(const std::filesystem::path& dir)
{
    std::map<std::int64_t, migration> found;
    if (!std::filesystem::is_directory(dir)) {
        throw error(errc::invalid_argument, "", "no migrations directory: " + dir.string());
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string file = entry.path().filename().string();
        const bool up = file.ends_with(".up.sql");
        const bool down = file.ends_with(".down.sql");
        if (!up && !down) {
            continue;
        }
        const auto underscore = file.find('_');
        std::int64_t version = 0;
        const auto digits = file.substr(0, underscore);
        if (underscore == std::string::npos || digits.empty() ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            throw error(errc::invalid_argument, "", "migration file name must be NNNN_name.up.sql: " + file);
        }
        version = std::stoll(digits);
        const std::string name = file.substr(underscore + 1, file.size() - underscore - 1 - (up ? 7 : 9));
        auto& m = found[version];
        if (!m.name.empty() && m.name != name) {
            throw error(errc::invalid_argument, "", "two migrations with version " + digits);
        }
        m.version = version;
        m.name = name;
        (up ? m.up : m.down) = read_file(entry.path());
    }
    std::vector<migration> out;
    for (auto& [version, m] : found) {
        if (m.up.empty()) {
            throw error(errc::invalid_argument, "",
                        "migration " + std::to_string(version) + " has no up script");
        }
        m.checksum = migration_checksum(m.up);
        out.push_back(std::move(m));
    }
    return out;
}

std::filesystem::path create_migration(const std::filesystem::path& dir, const std::string& name)
{
    if (!detail::plain_identifier(name)) {
        throw error(errc::invalid_argument, "", "a migration name is a plain identifier: " + name);
    }
    std::filesystem::create_directories(dir);
    std::int64_t next = 1;
    if (std::filesystem::exists(dir)) {
        for (const auto& m : load_migrations(dir)) {
            next = std::max(next, m.version + 1);
        }
    }
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%04lld_", static_cast<long long>(next));
    const auto up = dir / (prefix + name + ".up.sql");
    const auto down = dir / (prefix + name + ".down.sql");
    std::ofstream(up) << "-- " << name << ": apply\n";
    std::ofstream(down) << "-- " << name << ": revert\n";
    return up;
}

migrator::migrator(database& db, std::vector<migration> migrations)
    : db_(&db), migrations_(std::move(migrations))
{
    std::sort(migrations_.begin(), migrations_.end(),
              [](const migration& a, const migration& b) { return a.version < b.version; });
}

task<void> migrator::ensure_table()
{
    co_await db_->execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
        "checksum TEXT NOT NULL, applied_at TEXT NOT NULL)");
}

task<void> migrator::lock(transaction& tx)
{
    if (tx.dialect() == "postgresql") {
        // Any fixed key will do; it only has to be the same for every migrator.
        co_await tx.execute("SELECT pg_advisory_xact_lock(7306224830120183665)");
    }
    // SQLite: the transaction was begun IMMEDIATE, which holds the write lock.
}

task<std::vector<migration_status>> migrator::status()
{
    co_await ensure_table();
    auto applied =
        co_await db_->query<detail_migrate::applied>("SELECT * FROM schema_migrations ORDER BY version");
    std::map<std::int64_t, detail_migrate::applied> by_version;
    for (auto& a : applied) {
        by_version[a.version] = a;
    }
    std::vector<migration_status> out;
    for (const auto& m : migrations_) {
        migration_status s{m.version, m.name, false, std::nullopt, false};
        if (auto it = by_version.find(m.version); it != by_version.end()) {
            s.applied = true;
            s.applied_at = it->second.applied_at;
            s.changed = it->second.checksum != m.checksum;
            by_version.erase(it);
        }
        out.push_back(std::move(s));
    }
    for (auto& [version, a] : by_version) {  // applied, but the file is gone
        out.push_back(migration_status{version, a.name, true, a.applied_at, true});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    co_return out;
}

task<int> migrator::up(std::optional<std::int64_t> target)
{
    co_await ensure_table();
    int applied_count = 0;
    for (const auto& m : migrations_) {
        if (target && m.version > *target) {
            break;
        }
        auto tx = co_await db_->begin(isolation::serializable);
        co_await lock(tx);
        auto done = co_await tx.query_one<std::string>(
            "SELECT checksum FROM schema_migrations WHERE version = $1", m.version);
        if (done) {
            if (*done != m.checksum) {
                throw error(errc::invalid_argument, "",
                            "migration " + std::to_string(m.version) + "_" + m.name +
                                " changed since it was applied (checksum " + *done + " != " + m.checksum +
                                ")");
            }
            co_await tx.rollback();
            continue;
        }
        co_await tx.execute(m.up);
        const std::string at = now_utc();
        co_await tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            m.version, m.name, m.checksum, at);
        co_await tx.commit();
        ++applied_count;
    }
    co_return applied_count;
}

task<int> migrator::down(int steps)
{
    co_await ensure_table();
    int reverted = 0;
    while (reverted < steps) {
        auto tx = co_await db_->begin(isolation::serializable);
        co_await lock(tx);
        auto newest = co_await tx.query_one<std::int64_t>("SELECT MAX(version) FROM schema_migrations");
        if (!newest || *newest == 0) {
            co_await tx.rollback();
            break;
        }
        const std::int64_t version = *newest;
        auto it = std::find_if(migrations_.begin(), migrations_.end(),
                               [version](const migration& m) { return m.version == version; });
        if (it == migrations_.end()) {
            throw error(errc::invalid_argument, "",
                        "applied migration " + std::to_string(version) + " has no file to revert it");
        }
        if (!it->down.empty()) {
            co_await tx.execute(it->down);
        }
        co_await tx.execute("DELETE FROM schema_migrations WHERE version = $1", version);
        co_await tx.commit();
        ++reverted;
    }
    co_return reverted;
}

}  // namespace covet::orm
