-- Signed Gather callback: POST /api/voice/menu with Digits=1 (the IVR's hottest path).
-- The runner passes the body and its X-Twilio-Signature (computed for this host and port).
wrk.method = "POST"
wrk.path = "/api/voice/menu"
wrk.body = os.getenv("SB_MENU_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
wrk.headers["X-Twilio-Signature"] = os.getenv("SB_MENU_SIGNATURE")

local pace = tonumber(os.getenv("SB_DELAY_MS") or "0")
if pace > 0 then
  function delay() return pace end
end
