#pragma once
// covet::orm umbrella: database, models, query builder, errors.
#include <covet/orm/database.hpp>
#include <covet/orm/driver.hpp>
#include <covet/orm/error.hpp>
#include <covet/orm/model.hpp>
#include <covet/orm/query.hpp>
#include <covet/orm/relations.hpp>
#include <covet/orm/value.hpp>
