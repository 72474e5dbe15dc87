// What every fuzz target shares: the totality check (no exception may escape a parser) and
// the splitting of one input into fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

namespace switchboard::fuzz {

// Parsers report bad input as values or error codes; an exception escaping one is a bug (a
// throw per request, or a process that terminates on a bad setting at start-up). The message is
// printed so the crash report says which exception it was.
template <class F> void total(F&& f) noexcept
{
    try {
        f();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "escaped exception: %s\n", e.what());
        __builtin_trap();
    } catch (...) {
        std::fprintf(stderr, "escaped exception of an unknown type\n");
        __builtin_trap();
    }
}

// An invariant of the code under test; a failure crashes with the reason.
inline void check(bool ok, const char* what) noexcept
{
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        __builtin_trap();
    }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept
{
    return {reinterpret_cast<const char*>(data), size};
}

// The input's fields, separated by NUL bytes (which none of the text fields needs); missing
// fields are empty, the last one takes the rest of the input.
inline std::vector<std::string_view> fields(std::string_view in, std::size_t n)
{
    std::vector<std::string_view> out;
    out.reserve(n);
    while (out.size() + 1 < n) {
        const std::size_t nul = in.find('\0');
        out.push_back(in.substr(0, nul));
        in = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);
    }
    out.push_back(in);
    return out;
}

// A 64-bit number from up to 8 bytes (little-endian), for times and sizes the input chooses.
inline std::int64_t number(std::string_view bytes) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes.size() && i < 8; ++i) {
        v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
    }
    return static_cast<std::int64_t>(v);
}

} // namespace switchboard::fuzz
