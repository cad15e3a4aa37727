// Must not compile: a generic lambda's parameters cannot be inspected.
#include <covet/web/app.hpp>

void register_routes(covet::web::app& app)
{
    app.get("/x/{id}", [](auto id) { return std::to_string(*id); });
}
