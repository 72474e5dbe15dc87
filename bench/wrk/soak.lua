-- Signed voice status callbacks for the soak benchmark (bench/soak.sh): like status.lua, every
-- request a new event from SB_STATUS_FILE ("signature<TAB>body" per line), but read one line a
-- request instead of loaded up front, so a file of millions of bodies costs neither memory nor
-- start-up time. At the end of the file it starts again (repeats are de-duplicated, not new
-- events: soak.sh makes more than a run sends and checks that none repeated).
-- SB_RATE (requests per second, over all connections; wrk -t1): each request waits for its slot
-- on one schedule, start + n / SB_RATE, so the offered load is steady whatever the latency (a
-- connection whose slot has passed sends at once). Unset or 0: as fast as the answers come.
local file = os.getenv("SB_STATUS_FILE")
local lines = io.lines(file)
local run = os.getenv("SB_RUN_ID") or "run"
local counter = 0

request = function()
  counter = counter + 1
  local line = lines()
  if line == nil then
    lines = io.lines(file)
    line = lines()
  end
  local sig, body = line:match("^(%S+)\t(.*)$")
  return wrk.format("POST", "/api/voice/status", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sig,
    ["I-Twilio-Idempotency-Token"] = run .. "-" .. counter,
  }, body)
end

local rate = tonumber(os.getenv("SB_RATE") or "0")
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } sb_timespec;
    int clock_gettime(int clock, sb_timespec* out);
  ]]
  local ts = ffi.new("sb_timespec")
  local function now_ms() -- CLOCK_MONOTONIC
    ffi.C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local start, slots = nil, 0
  delay = function()
    local t = now_ms()
    start = start or t
    slots = slots + 1
    local wait = start + slots * 1000 / rate - t
    return wait > 0 and wait or 0
  end
end
