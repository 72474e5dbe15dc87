// The listener's request parsing (service/request_reader: Beast's request_parser with our
// limits), fed from a buffer in reads of fuzzed sizes exactly as the connection loop does, for
// as many pipelined requests as the bytes hold. Input: 2 bytes choosing the limits, then the
// bytes the client sends; each read takes 1 to read_chunk bytes, the size drawn from the data.
// Every request is complete or refused with a beast::http error, and nothing buffered or
// parsed exceeds the limits.
#include "service/http/request_reader.hpp"
#include "tests/fuzz/fuzz.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

using namespace switchboard;

namespace {

const boost::system::error_category& http_category()
{
    return make_error_code(http::error::end_of_stream).category();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) {
        return 0;
    }
    // Limits from the configured range's low end, so that inputs reach them.
    read_limits limits;
    limits.header_limit = 1024 + (data[0] & 0x0F) * 512;
    limits.body_limit = 1024 + (data[0] >> 4) * 4096;
    const std::uint8_t seed = data[1];
    std::string_view wire = fuzz::as_text(data + 2, size - 2);

    fuzz::total([&] {
        beast::flat_buffer buffer;
        std::size_t step = 0;
        // Bytes delivered by one read: varies with the position so splits land everywhere.
        const auto next_read = [&](std::size_t want) {
            const auto b = static_cast<std::size_t>(static_cast<std::uint8_t>(seed + 31 * step++));
            const std::size_t n = b % 4 == 0 ? want : 1 + (b * 37) % want;
            return std::min(n, wire.size());
        };
        for (int requests = 0; requests < 64; ++requests) {
            request_parser parser;
            configure(parser, limits);
            boost::system::error_code ec;
            read_state state = read_state::need_more;
            while (true) {
                state = feed(parser, buffer, limits, ec);
                fuzz::check(buffer.size() <= limits.max_buffered(), "the read buffer stays within its bound");
                if (state != read_state::need_more) {
                    break;
                }
                fuzz::check(!ec, "more is needed only without an error");
                const std::size_t want = read_limits::read_chunk;
                if (buffer.size() + want > limits.max_buffered()) {
                    ec = http::error::header_limit; // what the connection loop answers (431)
                    state = read_state::failed;
                    break;
                }
                if (wire.empty()) {
                    if (parser.got_some() || buffer.size() > 0) {
                        parser.put_eof(ec);
                    }
                    return; // the client closed
                }
                const std::size_t n = next_read(want);
                auto room = buffer.prepare(n);
                std::memcpy(room.data(), wire.data(), n);
                buffer.commit(n);
                wire.remove_prefix(n);
                if (parser.is_header_done()) {
                    (void)wants_continue(parser);
                }
            }
            if (state == read_state::failed) {
                fuzz::check(ec && ec.category() == http_category(), "a refusal is a beast::http error");
                return; // the connection answers 4xx and closes
            }
            fuzz::check(!ec, "a complete request has no error");
            fuzz::check(parser.is_done(), "done means the parser is done");
            fuzz::check(!check_framing(parser), "a complete request has acceptable framing");
            const auto& req = parser.get();
            fuzz::check(req.body().size() <= limits.body_limit, "the body is within the limit");
            if (!req.keep_alive()) {
                return;
            }
        }
    });
    return 0;
}
