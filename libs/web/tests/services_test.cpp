// Dependency injection: app-wide services, per-request factories with their
// own injected parameters, once-per-request caching, refusal from a factory.
#include <covet/http/error.hpp>
#include <covet/web/web.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace http = covet::http;
namespace web = covet::web;
using covet::task;

namespace {

struct store {
    std::mutex m;
    std::vector<std::string> names;
};

struct current_user {
    std::string name;
};

struct audit {
    std::string who;
};

}  // namespace

TEST_CASE("app-wide and per-request services, factories injected like handlers")
{
    web::app app;
    auto db = std::make_shared<store>();
    app.provide(db);
    auto made = std::make_shared<std::atomic<int>>(0);
    // The current user comes from a header; no token → 401 before the handler runs.
    app.provide_per_request([made](web::header<std::optional<std::string>, "Authorization"> auth,
                                   web::inject<store> s) -> task<current_user> {
        ++*made;
        if (!auth->has_value() || auth->value().rfind("User ", 0) != 0) {
            throw http::error(http::status::unauthorized, "login first");
        }
        (void)s->names.size();
        co_return current_user{auth->value().substr(5)};
    });
    // A dependency of a dependency, returned as shared_ptr.
    app.provide_per_request(
        [](web::inject<current_user> u) { return std::make_shared<audit>(audit{"audit:" + u->name}); });

    app.post("/names", [](web::inject<store> s, web::inject<current_user> u, web::inject<audit> a) {
        std::lock_guard lock(s->m);
        s->names.push_back(u->name);
        return a->who;
    });
    app.get("/count", [](web::inject<store> s) { return std::to_string(s->names.size()); });
    web::test_client client(app);

    auto r = client.post("/names", "", {{"Authorization", "User ada"}, {"Content-Type", "text/plain"}});
    CHECK(r.status == 200);
    CHECK(r.body == "audit:ada");
    CHECK(*made == 1);  // made once although the handler and audit's factory both inject it
    CHECK(db->names == std::vector<std::string>{"ada"});
    auto refused = client.post("/names", "");
    CHECK(refused.status == 401);
    CHECK(refused.body.find("login first") != std::string::npos);
    CHECK(client.get("/count").body == "1");
}

TEST_CASE("a handler injecting a service nobody provides fails at freeze, naming the service")
{
    web::app app;
    app.get("/x", [](web::inject<audit>) { return std::string(); });
    try {
        app.freeze();
        FAIL("freeze should throw");
    } catch (const std::logic_error& e) {
        const std::string what = e.what();
        CHECK(what.find("GET /x") != std::string::npos);
        CHECK(what.find("audit") != std::string::npos);
    }
    web::app twice;
    twice.provide(std::make_shared<store>());
    CHECK_THROWS_AS(twice.provide(std::make_shared<store>()), std::invalid_argument);
}
