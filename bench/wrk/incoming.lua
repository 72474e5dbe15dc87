-- Signed incoming call: POST /api/voice/incoming (answers the welcome menu).
wrk.method = "POST"
wrk.path = "/api/voice/incoming"
wrk.body = os.getenv("SB_INCOMING_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
wrk.headers["X-Twilio-Signature"] = os.getenv("SB_INCOMING_SIGNATURE")

local pace = tonumber(os.getenv("SB_DELAY_MS") or "0")
if pace > 0 then
  function delay() return pace end
end
