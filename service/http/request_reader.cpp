// Request parsing limits and framing checks.
#include "service/http/request_reader.hpp"

#include "protocol/core/text.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

namespace switchboard {

void configure(request_parser& parser, const read_limits& limits)
{
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    parser.eager(true);
}

boost::system::error_code check_framing(const request_parser& parser)
{
    const auto& req = parser.get();
    // Beast frames a Transfer-Encoding whose last coding is not chunked as "no body", and the
    // rest would be parsed as the next request: a desync behind a proxy that frames it otherwise.
    if (req.find(http::field::transfer_encoding) != req.end() && !parser.chunked()) {
        return http::error::bad_transfer_encoding;
    }
    if (req.version() >= 11 && req.find(http::field::host) == req.end()) {
        return http::error::bad_field;
    }
    return {};
}

bool wants_continue(const request_parser& parser)
{
    const auto& req = parser.get();
    return req.version() >= 11 && text::iequals(req[http::field::expect], "100-continue");
}

read_state feed(
    request_parser& parser, beast::flat_buffer& buffer, const read_limits& limits, boost::system::error_code& ec)
{
    ec = {};
    const bool header_was_done = parser.is_header_done();
    if (buffer.size() > 0) {
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more) {
            ec = {};
        } else if (ec) {
            return read_state::failed;
        }
        if (!header_was_done && parser.is_header_done()) {
            ec = check_framing(parser);
            if (ec) {
                return read_state::failed;
            }
        }
        if (parser.is_done()) {
            return read_state::done;
        }
    }
    // What is still buffered is a line or a trailer the parser has not seen the end of.
    if (buffer.size() >= limits.max_buffered() - limits.read_chunk && parser.is_header_done()) {
        ec = http::error::header_limit;
        return read_state::failed;
    }
    return read_state::need_more;
}

} // namespace switchboard
