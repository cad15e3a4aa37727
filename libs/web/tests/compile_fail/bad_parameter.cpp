// Must not compile: `int` is not a handler parameter kind.
#include <covet/web/app.hpp>

void register_routes(covet::web::app& app)
{
    app.get("/x/{id}", [](int id) { return std::to_string(id); });
}
