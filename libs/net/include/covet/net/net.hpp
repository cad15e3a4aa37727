#pragma once
// Convenience umbrella for covet::net. Prefer the fine-grained headers.
#include <covet/net/listener.hpp>
#include <covet/net/offload.hpp>
#include <covet/net/per_thread.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/task.hpp>
#include <covet/net/timer.hpp>
#include <covet/net/tls.hpp>
