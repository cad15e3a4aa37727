// Fuzzes frame_reader (server role, deflate allowed, a small message limit):
// feeding everything at once (whole frames take the one-step path; messages
// taken into one reused string) and byte by byte (the general path; messages
// moved out) must produce the same events, messages stay within the limit
// and text messages are valid UTF-8.
#include <covet/ws/deflate.hpp>
#include <covet/ws/frame.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct outcome {
    std::vector<int> kinds;
    std::vector<std::string> data;
    std::uint16_t error = 0;
};

outcome run(const std::uint8_t* data, std::size_t size, std::size_t step, bool reuse_buffer)
{
    using covet::ws::frame_reader;
    covet::ws::reader_options options;
    options.max_message_size = 4096;
    options.allow_rsv1 = true;
    frame_reader reader(options);
    covet::ws::deflate_options deflate;
    deflate.enabled = true;
    auto codec =
        std::make_shared<covet::ws::detail::deflate_codec>(covet::ws::deflate_params{}, true, deflate);
    reader.set_inflate([codec](std::string_view in, std::string& out, std::size_t limit) {
        return codec->inflate(in, out, limit);
    });
    outcome o;
    std::string reused;
    for (std::size_t at = 0; at < size && o.error == 0; at += step) {
        std::span<const std::uint8_t> piece(data + at, std::min(step, size - at));
        while (!piece.empty()) {
            std::size_t used = 0;
            const auto k = reader.next(piece, used);
            if (used > piece.size()) {
                std::abort();
            }
            piece = piece.subspan(used);
            if (k == frame_reader::kind::need_more) {
                break;
            }
            o.kinds.push_back(static_cast<int>(k));
            if (k == frame_reader::kind::message) {
                std::string m;
                if (reuse_buffer) {
                    reader.take_message(reused);
                    m = reused;
                } else {
                    m = reader.take_message();
                }
                if (m.size() > options.max_message_size) {
                    std::abort();
                }
                if (reader.message_type() == covet::ws::opcode::text && !covet::ws::is_valid_utf8(m)) {
                    std::abort();
                }
                o.data.push_back(std::move(m));
            } else if (k == frame_reader::kind::error) {
                o.error = reader.error_code();
                break;
            } else if (k == frame_reader::kind::close) {
                o.data.emplace_back(reader.close_reason());
                o.error = 1;  // stop like the connection does
                break;
            } else {
                o.data.emplace_back(reader.payload());
            }
        }
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const outcome whole = run(data, size, size == 0 ? 1 : size, true);
    const outcome bytewise = run(data, size, 1, false);
    if (whole.kinds != bytewise.kinds || whole.data != bytewise.data || whole.error != bytewise.error) {
        std::abort();
    }
    return 0;
}
