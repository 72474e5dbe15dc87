-- Signed Gather callback: POST /api/voice/menu with Digits=1 (the IVR's hottest path).
-- bench/run.sh passes the body and its X-Twilio-Signature, computed for this host and port.
dofile("bench/wrk/common.lua")
form_post("/api/voice/menu", os.getenv("SB_MENU_BODY"), os.getenv("SB_MENU_SIGNATURE"))
