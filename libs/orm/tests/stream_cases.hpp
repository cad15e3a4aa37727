#pragma once
// Streaming checks shared by the SQLite (stream_test.cpp) and PostgreSQL
// (libs/postgres/tests/pg_stream_test.cpp) tests; the caller passes the
// dialect's SQL for a numbered series of rows.

#include <covet/orm/orm.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include <malloc.h>

#if defined(__SANITIZE_ADDRESS__)
#define COVET_STREAM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COVET_STREAM_TEST_ASAN 1
#endif
#endif
#ifdef COVET_STREAM_TEST_ASAN
// The sanitizer runtime's own count (g++ ships no header for it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace streaming {

struct series_row {
    std::int64_t n = 0;
    std::string label;  // 200 characters: the whole series would take > 20 MB
};
COVET_REFLECT(series_row, n, label);
COVET_MODEL(series_row, "series", n);

struct series_sql {
    std::string series;   ///< $1 rows (n, label), n = 1..$1
    std::string failing;  ///< the same, but row 50000 raises an error
    std::string error_state;
};

/// Bytes the process has allocated with malloc (C++, SQLite and libpq alike).
inline std::size_t heap_in_use()
{
#ifdef COVET_STREAM_TEST_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    const auto info = ::mallinfo2();
    return info.uordblks + info.hblkhd;
#endif
}

inline covet::task<void> check_streaming(covet::orm::database& db, series_sql sql)
{
    namespace orm = covet::orm;
    constexpr std::int64_t total = 100'000;

    // 100k rows one at a time: all arrive, in order, in bounded memory.
    {
        const std::size_t before = heap_in_use();
        std::size_t peak = before;
        auto rows = co_await db.stream<series_row>(sql.series, total);
        std::int64_t count = 0;
        bool in_order = true;
        while (auto r = co_await rows.next()) {
            ++count;
            in_order = in_order && r->n == count && r->label.size() == 200;
            if (count % 1000 == 0) {
                peak = std::max(peak, heap_in_use());
            }
        }
        CHECK(count == total);
        CHECK(in_order);
        // Materialized, the rows would need over 20 MB; a stream holds one batch.
        MESSAGE("stream of 100k rows: peak heap growth " << (peak - before) / 1024 << " KiB");
        CHECK(peak - before < 4 * 1024 * 1024);
    }

    // The same measure sees the rows when they are all read at once.
    {
        const std::size_t before = heap_in_use();
        auto all = co_await db.query<series_row>(sql.series, total);
        CHECK(all.size() == static_cast<std::size_t>(total));
        CHECK(heap_in_use() - before > 20 * 1024 * 1024);
    }

    // In batches: none larger than asked for.
    {
        auto rows = co_await db.stream<series_row>(sql.series, total);
        rows.set_batch_rows(1000);
        std::size_t largest = 0;
        std::size_t batches = 0;
        std::int64_t count = 0;
        for (;;) {
            auto batch = co_await rows.next_batch();
            if (batch.empty()) {
                break;
            }
            ++batches;
            largest = std::max(largest, batch.size());
            count += static_cast<std::int64_t>(batch.size());
        }
        CHECK(count == total);
        CHECK(largest == 1000);
        CHECK(batches == 100);
        CHECK((co_await rows.next_batch()).empty());  // stays at the end
    }

    // Stopped early: the connection comes back and works; the statement restarts from row 1.
    // (Connections in use otherwise: a per-thread PostgreSQL database keeps one for its statements.)
    const auto in_use = db.pool_stats().in_use;
    for (int round = 0; round < 3; ++round) {
        auto rows = co_await db.stream<series_row>(sql.series, total);
        for (int i = 1; i <= 10; ++i) {
            auto r = co_await rows.next();
            REQUIRE(r);
            CHECK(r->n == i);
        }
    }
    CHECK(db.pool_stats().in_use == in_use);
    auto one = co_await db.query_one<std::int64_t>("SELECT 1");
    CHECK(one == 1);
    {
        auto rows = co_await db.stream<series_row>(sql.series, 5);
        std::int64_t count = 0;
        while (auto r = co_await rows.next()) {
            CHECK(r->n == ++count);
        }
        CHECK(count == 5);
        rows.close();  // after the end: harmless
    }

    // An error in the middle of the rows is thrown where it happens.
    const auto in_use_before_error = db.pool_stats().in_use;
    {
        auto rows = co_await db.stream<series_row>(sql.failing, total);
        std::int64_t count = 0;
        std::string state;
        try {
            while (auto r = co_await rows.next()) {
                ++count;
            }
        } catch (const orm::error& e) {
            state = e.sql_state();
        }
        CHECK(state == sql.error_state);
        CHECK(count > 1000);
        CHECK(count < 50'000);
        CHECK(!(co_await rows.next()));  // the stream is over
    }
    CHECK(db.pool_stats().in_use == in_use_before_error);
    auto again = co_await db.query_one<std::int64_t>("SELECT 2");
    CHECK(again == 2);

    // A bad statement fails when the stream opens.
    bool failed = false;
    try {
        auto rows = co_await db.stream<series_row>("SELECT * FROM no_such_table");
        (void)co_await rows.next();
    } catch (const orm::error& e) {
        failed = e.kind() == orm::errc::query_error;
    }
    CHECK(failed);
    auto still = co_await db.query_one<std::int64_t>("SELECT 3");
    CHECK(still == 3);
}

}  // namespace streaming
