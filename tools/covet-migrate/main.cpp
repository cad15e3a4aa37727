// covet-migrate: versioned SQL migrations for covet::orm databases.
//
//   covet-migrate --url URL [--dir migrations] status
//   covet-migrate --url URL [--dir migrations] up [VERSION]
//   covet-migrate --url URL [--dir migrations] down [STEPS]
//   covet-migrate [--dir migrations] create NAME
//
// URL: sqlite:///path/app.db, sqlite::memory:, postgresql://user:pass@host:port/db
// (or the COVET_DATABASE_URL environment variable). Exit status 0 on success,
// 1 on a database or migration error, 2 on bad usage.
#include <covet/net/spawn.hpp>
#include <covet/orm/migrate.hpp>
#if COVET_MIGRATE_POSTGRES
#include <covet/postgres/postgres.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

int usage()
{
    std::fprintf(stderr,
                 "usage: covet-migrate --url URL [--dir DIR] status | up [VERSION] | down [STEPS]\n"
                 "       covet-migrate [--dir DIR] create NAME\n");
    return 2;
}

covet::task<int> run(std::string url, std::string dir, std::string command, std::string argument)
{
    auto db = covet::orm::database::open(url);
    covet::orm::migrator m(db, covet::orm::load_migrations(dir));
    int rc = 0;
    if (command == "status") {
        auto rows = co_await m.status();
        for (const auto& s : rows) {
            std::printf("%04lld  %-32s  %s%s\n", static_cast<long long>(s.version), s.name.c_str(),
                        s.applied ? ("applied " + s.applied_at.value_or("")).c_str() : "pending",
                        s.changed ? "  (CHANGED since applied)" : "");
        }
    } else if (command == "up") {
        std::optional<std::int64_t> target;
        if (!argument.empty()) {
            target = std::stoll(argument);
        }
        const int n = co_await m.up(target);
        std::printf("applied %d migration(s)\n", n);
    } else if (command == "down") {
        const int steps = argument.empty() ? 1 : std::stoi(argument);
        const int n = co_await m.down(steps);
        std::printf("reverted %d migration(s)\n", n);
    } else {
        rc = usage();
    }
    db.close();
    co_return rc;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string url = std::getenv("COVET_DATABASE_URL") != nullptr ? std::getenv("COVET_DATABASE_URL") : "";
    std::string dir = "migrations";
    std::vector<std::string> rest;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "--url" || arg == "--dir") && i + 1 < argc) {
            (arg == "--url" ? url : dir) = argv[++i];
        } else if (arg == "-h" || arg == "--help") {
            return usage();
        } else {
            rest.push_back(arg);
        }
    }
    if (rest.empty() || rest.size() > 2) {
        return usage();
    }
    const std::string command = rest[0];
    const std::string argument = rest.size() > 1 ? rest[1] : "";
    try {
        if (command == "create") {
            if (argument.empty()) {
                return usage();
            }
            const auto path = covet::orm::create_migration(dir, argument);
            std::printf("created %s\n", path.string().c_str());
            return 0;
        }
        if (url.empty()) {
            std::fprintf(stderr, "covet-migrate: --url (or COVET_DATABASE_URL) is required\n");
            return 2;
        }
        return covet::net::block_on(run(url, dir, command, argument));
    } catch (const covet::orm::error& e) {
        std::fprintf(stderr, "covet-migrate: %s%s%s\n", e.what(), e.sql_state().empty() ? "" : " SQLSTATE ",
                     e.sql_state().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet-migrate: %s\n", e.what());
    }
    return 1;
}
