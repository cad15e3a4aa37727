// web::config from code, a key=value file and the environment.
#include <covet/web/web.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace web = covet::web;

TEST_CASE("config: defaults, string, file, environment, errors with line numbers")
{
    web::config cfg;
    CHECK(cfg.port == 8080);
    CHECK(cfg.server.compression.enabled);

    cfg.load_string(
        "# comment\nport = 9000\n\nthreads=3  # trailing comment\nmax_body = 1024\nserver_name = demo\n"
        "compression = off\nkeep_alive_timeout_ms = 1500\n");
    CHECK(cfg.port == 9000);
    CHECK(cfg.threads == 3);
    CHECK(cfg.server.limits.max_body == 1024);
    CHECK(cfg.server.server_name == "demo");
    CHECK_FALSE(cfg.server.compression.enabled);
    CHECK(cfg.server.keep_alive_timeout.count() == 1500);

    const std::string path = "covet_web_config_test.conf";
    {
        std::ofstream out(path);
        out << "address = 127.0.0.1\nport = 9100\n";
    }
    cfg.load_file(path);
    CHECK(cfg.address == "127.0.0.1");
    CHECK(cfg.port == 9100);
    std::remove(path.c_str());
    CHECK_THROWS_AS(cfg.load_file("/nonexistent/covet.conf"), std::invalid_argument);

    ::setenv("COVET_TEST_PORT", "9200", 1);
    ::setenv("COVET_TEST_MAX_HEADERS", "50", 1);
    cfg.load_env("COVET_TEST_");
    CHECK(cfg.port == 9200);
    CHECK(cfg.server.limits.max_headers == 50);
    ::setenv("COVET_TEST_PORT", "70000", 1);
    CHECK_THROWS_AS(cfg.load_env("COVET_TEST_"), std::invalid_argument);
    ::unsetenv("COVET_TEST_PORT");
    ::unsetenv("COVET_TEST_MAX_HEADERS");

    try {
        cfg.load_string("port = 1\nbogus = 2\n", "app.conf");
        FAIL("should throw");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()) == "app.conf:2: config: unknown key 'bogus'");
    }
    CHECK_THROWS_AS(cfg.load_string("port\n"), std::invalid_argument);
    CHECK_THROWS_AS(cfg.set("threads", "-1"), std::invalid_argument);

    web::app app;
    ::setenv("COVET_PORT", "9300", 1);
    app.configure_from_env();
    CHECK(app.config().port == 9300);
    ::unsetenv("COVET_PORT");
}
