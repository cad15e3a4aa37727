#include <covet/base/error.hpp>

namespace covet {
namespace {

class covet_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "covet"; }

    std::string message(int value) const override
    {
        switch (static_cast<errc>(value)) {
        case errc::timed_out: return "operation timed out";
        case errc::cancelled: return "operation cancelled";
        case errc::limit_exceeded: return "limit exceeded";
        case errc::end_of_stream: return "end of stream";
        case errc::invalid_argument: return "invalid argument";
        case errc::shutting_down: return "shutting down";
        case errc::no_result: return "no result";
        }
        return "unknown covet error";
    }

    std::error_condition default_error_condition(int value) const noexcept override
    {
        switch (static_cast<errc>(value)) {
        case errc::timed_out: return std::errc::timed_out;
        case errc::cancelled: return std::errc::operation_canceled;
        case errc::invalid_argument: return std::errc::invalid_argument;
        default: return {value, *this};
        }
    }
};

}  // namespace

const std::error_category& covet_category() noexcept
{
    static const covet_error_category category;
    return category;
}

}  // namespace covet
