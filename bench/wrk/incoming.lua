-- Signed incoming call: POST /api/voice/incoming (answers the welcome menu).
dofile("bench/wrk/common.lua")
form_post("/api/voice/incoming", os.getenv("SB_INCOMING_BODY"), os.getenv("SB_INCOMING_SIGNATURE"))
