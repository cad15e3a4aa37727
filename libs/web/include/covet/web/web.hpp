#pragma once
// covet::web, everything: app, typed handler parameters, middleware, config, test client.
#include <covet/web/app.hpp>
#include <covet/web/config.hpp>
#include <covet/web/errors.hpp>
#include <covet/web/http_cache.hpp>
#include <covet/web/middleware.hpp>
#include <covet/web/params.hpp>
#include <covet/web/test_client.hpp>
