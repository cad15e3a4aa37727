// covet_tfb: the TechEmpower Framework Benchmarks application.
//   covet_tfb [--address A] [--port P] [--threads N] [--db URL]
// Defaults: 0.0.0.0:8080, one worker per hardware thread. COVET_* environment
// variables (COVET_PORT, COVET_THREADS, ...) are read first; flags win.
// --db sqlite:///path/tfb.db or postgresql://...: adds /db, /queries,
// /fortunes, /updates, /cached-queries (the World and Fortune tables are created and filled
// when empty).
#include "tfb.hpp"
#if COVET_TFB_DB
#include "tfb_db.hpp"

#include <covet/net/spawn.hpp>
#endif
#if COVET_TFB_POSTGRES
#include <covet/postgres/postgres.hpp>
#endif

#include "app_args.hpp"

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv)
{
    covet::web::app app(covet::tfb::make_config(8080, 0));
    std::string db_url;
    if (!covet::apps::configure_app(app, argc, argv, "covet_tfb",
                                    "covet_tfb [--address A] [--port P] [--threads N] [--db URL]",
                                    {{"db", &db_url}})) {
        return 2;
    }
    auto& cfg = app.config();
    covet::tfb::add_routes(app);
    if (!db_url.empty()) {
#if COVET_TFB_DB
        try {
            // Seeded on a private io_context; the workers open their own connections.
            auto seed_db = covet::orm::database::open(db_url);
            covet::net::block_on([](covet::orm::database& d) -> covet::task<void> {
                co_await covet::tfb::seed(d);
                d.close();
            }(seed_db));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "covet_tfb: database: %s\n", e.what());
            return 1;
        }
        covet::tfb::add_db_routes(app, db_url);
#else
        std::fprintf(stderr, "covet_tfb: built without covet::orm; --db is not available\n");
        return 2;
#endif
    }
    try {
        const auto port = app.listen();
        std::printf("covet_tfb: http://%s:%u/ (/plaintext, /json) with %zu threads; Ctrl-C stops\n",
                    cfg.address.c_str(), port, app.runtime()->size());
        std::fflush(stdout);
        app.run();
#if COVET_TFB_DB
        covet::tfb::close_worker_db();
#endif
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_tfb: %s\n", e.what());
        return 1;
    }
    return 0;
}
