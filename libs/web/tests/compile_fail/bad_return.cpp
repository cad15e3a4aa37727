// Must not compile: a handler may not return const char* (lifetime).
#include <covet/web/app.hpp>

void register_routes(covet::web::app& app)
{
    app.get("/x", [] { return "dangling?"; });
}
