// Short aliases for the Boost namespaces Switchboard uses, in one place.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace switchboard {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

// The executor every connection coroutine (and so every handler) runs on: a strand over the
// io_context, named by its concrete type. The type-erased any_io_executor cost ~7% of CPU in
// copies on the request path.
using connection_executor = net::strand<net::io_context::executor_type>;
template <class T> using task = net::awaitable<T, connection_executor>;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

} // namespace switchboard
