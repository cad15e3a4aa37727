#pragma once
// covet::json, everything: reflection, writer, parser, validation, dynamic value, JSON Schema.
#include <covet/json/error.hpp>
#include <covet/json/read.hpp>
#include <covet/json/reflect.hpp>
#include <covet/json/schema.hpp>
#include <covet/json/validate.hpp>
#include <covet/json/value.hpp>
#include <covet/json/write.hpp>
#include <covet/json/writer.hpp>
