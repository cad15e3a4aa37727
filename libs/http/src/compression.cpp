#include <covet/http/compression.hpp>
#include <covet/http/header.hpp>

#include <zlib.h>

#include <charconv>

namespace covet::http {

namespace {

// The q value of one Accept-Encoding element ("gzip;q=0.5"); 1 if absent.
double quality(std::string_view params) noexcept
{
    while (!params.empty()) {
        const auto semi = params.find(';');
        std::string_view p = trim_ows(params.substr(0, semi));
        if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p.remove_prefix(2);
            // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
            double v = 0;
            double scale = 1;
            bool fraction = false;
            for (char c : p) {
                if (c == '.' && !fraction) {
                    fraction = true;
                } else if (c >= '0' && c <= '9') {
                    if (fraction) {
                        scale /= 10;
                        v += (c - '0') * scale;
                    } else {
                        v = v * 10 + (c - '0');
                    }
                } else {
                    return 0;  // malformed: treat as not acceptable
                }
            }
            return v > 1 ? 1 : v;
        }
        if (semi == std::string_view::npos) {
            break;
        }
        params.remove_prefix(semi + 1);
    }
    return 1;
}

std::error_code zlib_error(int code)
{
    return code == Z_MEM_ERROR ? std::make_error_code(std::errc::not_enough_memory)
                               : std::make_error_code(std::errc::illegal_byte_sequence);
}

int window_bits(content_coding coding)
{
    return coding == content_coding::gzip ? 15 + 16 : 15;
}

}  // namespace

content_coding negotiate_coding(std::string_view accept_encoding) noexcept
{
    double gzip = -1, deflate = -1, any = -1;
    while (!accept_encoding.empty()) {
        const auto comma = accept_encoding.find(',');
        const std::string_view item = trim_ows(accept_encoding.substr(0, comma));
        const auto semi = item.find(';');
        const std::string_view name = trim_ows(item.substr(0, semi));
        const double q = semi == std::string_view::npos ? 1.0 : quality(item.substr(semi + 1));
        if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
            gzip = q;
        } else if (iequals(name, "deflate")) {
            deflate = q;
        } else if (name == "*") {
            any = q;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        accept_encoding.remove_prefix(comma + 1);
    }
    if (gzip < 0) {
        gzip = any;
    }
    if (deflate < 0) {
        deflate = any;
    }
    if (gzip > 0 && gzip >= deflate) {
        return content_coding::gzip;
    }
    if (deflate > 0) {
        return content_coding::deflate;
    }
    return content_coding::identity;
}

bool is_compressible(std::string_view content_type) noexcept
{
    const std::string_view type = content_type.substr(0, content_type.find(';'));
    if (type.size() >= 5 && iequals(type.substr(0, 5), "text/")) {
        return true;
    }
    for (std::string_view t : {"application/json", "application/javascript", "application/xml",
                               "image/svg+xml", "application/wasm", "application/problem+json"}) {
        if (iequals(type, t)) {
            return true;
        }
    }
    return type.size() > 5 &&
           (iequals(type.substr(type.size() - 5), "+json") || iequals(type.substr(type.size() - 4), "+xml"));
}

result<std::string> compress(std::string_view data, content_coding coding, int level)
{
    if (coding == content_coding::identity) {
        return std::string(data);
    }
    z_stream z{};
    int rc = deflateInit2(&z, level, Z_DEFLATED, window_bits(coding), 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        return zlib_error(rc);
    }
    std::string out;
    out.resize(deflateBound(&z, static_cast<uLong>(data.size())));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    rc = deflate(&z, Z_FINISH);
    const auto produced = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        return zlib_error(rc);
    }
    out.resize(produced);
    return out;
}

result<std::string> decompress(std::string_view data, content_coding coding, std::size_t max_output)
{
    if (coding == content_coding::identity) {
        if (data.size() > max_output) {
            return errc::limit_exceeded;
        }
        return std::string(data);
    }
    z_stream z{};
    int rc = inflateInit2(&z, window_bits(coding));
    if (rc != Z_OK) {
        return zlib_error(rc);
    }
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    std::string out;
    char chunk[16 * 1024];
    do {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            return zlib_error(rc == Z_BUF_ERROR ? Z_DATA_ERROR : rc);
        }
        out.append(chunk, sizeof(chunk) - z.avail_out);
        if (out.size() > max_output) {
            inflateEnd(&z);
            return errc::limit_exceeded;
        }
    } while (rc != Z_STREAM_END);
    inflateEnd(&z);
    return out;
}

}  // namespace covet::http
