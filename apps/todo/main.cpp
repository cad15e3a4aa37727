// covet_todo: the demo REST API for users and todos (todo.hpp lists the routes).
//   covet_todo [--db URL] [--address A] [--port P] [--threads N]
// --db: sqlite:///abs/path.db, sqlite://rel/path.db (default sqlite://todo.db, in the current
// directory), sqlite::memory:, or postgresql://user:pass@host:5432/db.
// The migrations run at start. COVET_* environment variables are read first; flags win.
#include "todo.hpp"

#include "app_args.hpp"

#if COVET_TODO_POSTGRES
#include <covet/postgres/postgres.hpp>
#endif

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

int main(int argc, char** argv)
{
    covet::web::app app;
    std::string db_flag;
    if (!covet::apps::configure_app(app, argc, argv, "covet_todo",
                                    "covet_todo [--db URL] [--address A] [--port P] [--threads N]",
                                    {{"db", &db_flag}})) {
        return 2;
    }
    const std::string url = covet::todo::database_url(db_flag);
    std::shared_ptr<covet::orm::database> db;
    try {
        db = covet::todo::open_and_migrate(url);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_todo: database %s: %s\n", url.c_str(), e.what());
        return 1;
    }
    covet::todo::add_routes(app, db);
    int status = 0;
    try {
        const auto port = app.listen();
        std::printf("covet_todo: http://%s:%u/ (/users, /todos) on %s with %zu threads; Ctrl-C stops\n",
                    app.config().address.c_str(), port, url.c_str(), app.runtime()->size());
        std::fflush(stdout);
        app.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_todo: %s\n", e.what());
        status = 1;
    }
    db->close();  // while the workers' io_contexts (PostgreSQL sockets) still exist
    return status;
}
