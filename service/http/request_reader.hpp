// The one request-parser setup of the listeners, and every limit on what a client may send
// before its request is complete. Socket-free, so the fuzz target feeds raw bytes through
// exactly what the listener runs.
#pragma once

#include "service/http/net.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>

namespace switchboard {

struct read_limits {
    std::size_t header_limit = 8 * 1024; // request line + fields; also each chunk-size line and the trailer
    std::size_t body_limit = 64 * 1024; // decoded body (chunk data summed)

    // The most unconsumed bytes a connection's read buffer may hold: a header block (or a
    // chunk line, or a trailer) plus one read. In body phases eager parsing consumes whatever
    // arrives, so only a line or trailer the parser is still waiting to see the end of can
    // accumulate, and it may not exceed what a header block may.
    std::size_t max_buffered() const noexcept { return header_limit + read_chunk; }

    static constexpr std::size_t read_chunk = 8192; // bytes asked for per read
};

using request_parser = http::request_parser<http::string_body>;

// A fresh parser with our limits (eager: the body is parsed as it arrives).
void configure(request_parser& parser, const read_limits& limits);

enum class read_state { need_more, done, failed };

// Feeds what `buffer` holds to `parser` and consumes what it used. `failed` sets `ec`:
//   http::error::header_limit  (431) the header block, a chunk line or the trailer is too long
//   http::error::body_limit    (413) the body is too large
//   http::error::bad_transfer_encoding (400) a Transfer-Encoding whose last coding is not
//                              `chunked` (RFC 9112 §6.3: the length cannot be determined)
//   http::error::bad_field     (400) an HTTP/1.1 request without Host (RFC 9112 §3.2)
//   other http::error codes    (400) malformed
read_state feed(
    request_parser& parser, beast::flat_buffer& buffer, const read_limits& limits, boost::system::error_code& ec);

// After the header is complete: whether the request framing is one we accept (see feed).
boost::system::error_code check_framing(const request_parser& parser);

// Expect: 100-continue asked (case-insensitively), and only from HTTP/1.1 clients (RFC 9110
// §10.1.1: ignored for HTTP/1.0).
bool wants_continue(const request_parser& parser);

} // namespace switchboard
