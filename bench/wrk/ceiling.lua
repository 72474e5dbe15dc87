-- The nginx ceiling: the same POST shape against `return 200`.
wrk.method = "POST"
wrk.path = "/api/voice/menu"
wrk.body = os.getenv("SB_MENU_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"

local pace = tonumber(os.getenv("SB_DELAY_MS") or "0")
if pace > 0 then
  function delay() return pace end
end
