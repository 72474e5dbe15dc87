-- Shared by the benchmark scripts: one form POST per request, optionally signed, optionally
-- paced (SB_DELAY_MS between a connection's requests, for fixed-rate latency runs).
function form_post(path, body, signature)
  wrk.method = "POST"
  wrk.path = path
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
  if signature then
    wrk.headers["X-Twilio-Signature"] = signature
  end
end

local pace = tonumber(os.getenv("SB_DELAY_MS") or "0")
if pace > 0 then
  function delay() return pace end
end
