-- wrk script for bench/api.py: half list pages, half details, each request with one caller's token and, for a
-- detail, one of the seniors on that caller's first list page. The plan file (one caller per line:
-- "<token> <id> <id> ...") is written by bench/api.py; WRK_BASELINE=1 turns every request into GET /healthz.
local plan, baseline = {}, os.getenv("WRK_BASELINE") == "1"

function init(args)
  for line in io.lines(args[1]) do
    local caller = {ids = {}}
    for word in line:gmatch("%S+") do
      if caller.token == nil then caller.token = word else caller.ids[#caller.ids + 1] = word end
    end
    plan[#plan + 1] = caller
  end
  math.randomseed(os.time())
end

local n = 0
function request()
  if baseline then return wrk.format("GET", "/healthz") end
  n = n + 1
  local caller = plan[(n % #plan) + 1]
  local headers = {["Authorization"] = "Bearer " .. caller.token}
  if math.random() < 0.5 or #caller.ids == 0 then
    return wrk.format("GET", "/api/v1/seniors?limit=50", headers)
  end
  return wrk.format("GET", "/api/v1/seniors/" .. caller.ids[math.random(#caller.ids)], headers)
end
