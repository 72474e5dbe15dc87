-- The nginx ceiling: the same POST shape, unsigned, against `return 200`.
dofile("bench/wrk/common.lua")
form_post("/api/voice/menu", os.getenv("SB_MENU_BODY"), nil)
