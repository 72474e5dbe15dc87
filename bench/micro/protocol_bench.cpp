// What one signed menu POST costs in protocol/: form parsing, signature check, TwiML rendering;
// and what signing one delivery costs, with one secret and during a rotation (two).
#include "protocol/core/form.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "protocol/ivr/ivr_engine.hpp"
#include "protocol/twilio/twilio_signature.hpp"

#include <benchmark/benchmark.h>

#include <span>
#include <string>
#include <vector>

using namespace switchboard;

namespace {

// A realistic Gather callback body (the parameters Twilio sends with Digits).
const std::string body
    = "AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&ApiVersion=2010-04-01&CallSid=CA0123456789abcdef0123456789abcdef"
      "&CallStatus=in-progress&Called=%2B18005550100&CalledCity=&CalledCountry=US&CalledState=&CalledZip="
      "&Caller=%2B14155551212&CallerCity=SAN+FRANCISCO&CallerCountry=US&CallerState=CA&CallerZip=94105"
      "&Digits=1&Direction=inbound&FinishedOnKey=&From=%2B14155551212&FromCity=SAN+FRANCISCO&FromCountry=US"
      "&FromState=CA&FromZip=94105&To=%2B18005550100&ToCity=&ToCountry=US&ToState=&ToZip=&msg=Gather+End";
const std::string url = "https://jobmatch.zip/api/voice/menu";
const std::vector<std::string> tokens{"0123456789abcdef0123456789abcdef"};

void bm_parse_form(benchmark::State& state)
{
    for (auto _ : state) {
        benchmark::DoNotOptimize(parse_form(body));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(bm_parse_form);

void bm_verify_signature(benchmark::State& state)
{
    const std::string signature = twilio_signature::compute(tokens[0], url, parse_form(body));
    const twilio_signature::webhook_request request{url, signature, "application/x-www-form-urlencoded", body, true};
    for (auto _ : state) {
        auto v = twilio_signature::verify(tokens, request);
        if (v.ec) {
            state.SkipWithError("signature did not verify");
        }
        benchmark::DoNotOptimize(v);
    }
}
BENCHMARK(bm_verify_signature);

void bm_refuse_signature(benchmark::State& state)
{
    // A wrong signature walks every accepted URL form before refusing: the worst case.
    const twilio_signature::webhook_request request{
        url, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "application/x-www-form-urlencoded", body, true};
    for (auto _ : state) {
        benchmark::DoNotOptimize(twilio_signature::verify(tokens, request));
    }
}
BENCHMARK(bm_refuse_signature);

// The shipped JobMatch definition, as the service runs it.
const auto jobmatch = ivr::parse(ivr::default_definition_json()).def;
const ivr::call_info caller{"+18005550100", "+14155551212"};

void bm_twiml_menu_choice(benchmark::State& state)
{
    const ivr::call_state at_start;
    for (auto _ : state) {
        benchmark::DoNotOptimize(ivr::select(*jobmatch, caller, at_start, "1", ""));
    }
}
BENCHMARK(bm_twiml_menu_choice);

void bm_twiml_welcome(benchmark::State& state)
{
    for (auto _ : state) {
        benchmark::DoNotOptimize(ivr::answer(*jobmatch, caller, {}));
    }
}
BENCHMARK(bm_twiml_welcome);

// A delivery's body: a call.status_changed event as the store keeps it (~400 bytes).
const std::string delivery
    = R"({"id":"evt_0193a8c0ffee0000000000000000beef","type":"call.status_changed","timestamp":"2026-12-03T13:45:07.123Z",)"
      R"("occurred_at_ms":1796305507123,"data":{"call_sid":"CA0123456789abcdef0123456789abcdef","account_sid":)"
      R"("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","from":"+14155551212","to":"+18005550100","direction":"inbound",)"
      R"("status":"completed","previous_status":"in-progress","current_status":"completed","sequence_number":3,)"
      R"("duration_seconds":42}})";
const std::vector<std::string> keys{std::string(32, 'k'), std::string(32, 'o')};

void bm_sign_delivery(benchmark::State& state)
{
    const std::span<const std::string> signing(keys.data(), static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            webhook_signature::sign(signing, "evt_0193a8c0ffee0000000000000000beef", 1796305507, delivery));
    }
}
BENCHMARK(bm_sign_delivery)->Arg(1)->Arg(2);

} // namespace

BENCHMARK_MAIN();
