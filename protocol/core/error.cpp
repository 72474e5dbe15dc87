// Messages of the Switchboard error category.
#include "protocol/core/error.hpp"

#include <ostream>
#include <string>

namespace switchboard {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "switchboard"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::ok:
            return "success";
        case error::malformed_form:
            return "malformed form body";
        case error::missing_parameter:
            return "missing parameter";
        case error::invalid_parameter:
            return "invalid parameter";
        case error::invalid_url:
            return "invalid URL";
        case error::signature_missing:
            return "missing X-Twilio-Signature";
        case error::signature_mismatch:
            return "X-Twilio-Signature does not match";
        case error::body_hash_mismatch:
            return "bodySHA256 does not match the body";
        case error::rate_limited:
            return "rate limited";
        case error::malformed_json:
            return "malformed JSON body";
        case error::unauthorized:
            return "a valid bearer token is required";
        case error::forbidden:
            return "the token lacks the permission this request needs";
        case error::conflict:
            return "the resource is not in a state that allows this request";
        case error::not_configured:
            return "this feature is not configured";
        case error::idempotency_key_in_use:
            return "a request with this Idempotency-Key is still being processed";
        case error::idempotency_key_reused:
            return "this Idempotency-Key was used for a different request";
        case error::upstream_rejected:
            return "Twilio refused the request";
        case error::upstream_failed:
            return "the Twilio API failed";
        case error::upstream_timeout:
            return "the Twilio API did not answer in time";
        case error::invalid_config:
            return "invalid configuration";
        case error::store_unavailable:
            return "the event store cannot commit";
        case error::not_found:
            return "not found";
        }
        return "unknown switchboard error";
    }
};

} // namespace

const boost::system::error_category& error_category() noexcept
{
    static const category instance;
    return instance;
}

std::ostream& operator<<(std::ostream& out, error e)
{
    return out << error_category().message(static_cast<int>(e));
}

} // namespace switchboard
