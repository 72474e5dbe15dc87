-- Signed voice status callbacks, every request a new event: the bodies are pre-signed, each a
-- distinct (CallSid, SequenceNumber), the store's de-duplication key (SB_STATUS_FILE:
-- "signature<TAB>body" per line; bench/events.sh makes more than a run sends). The
-- I-Twilio-Idempotency-Token (unique per request, SB_RUN_ID per run) is what Twilio sends; the
-- store never de-duplicates by it.
local entries = {}
for line in io.lines(os.getenv("SB_STATUS_FILE")) do
  local sig, body = line:match("^(%S+)\t(.*)$")
  entries[#entries + 1] = { sig, body }
end
local run = os.getenv("SB_RUN_ID") or "run"
local counter = 0

request = function()
  counter = counter + 1
  local e = entries[(counter % #entries) + 1]
  return wrk.format("POST", "/api/voice/status", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = e[1],
    ["I-Twilio-Idempotency-Token"] = run .. "-" .. counter,
  }, e[2])
end
