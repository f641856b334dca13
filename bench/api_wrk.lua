-- wrk script of bench/api.py: one query kind (or the mix), random ids, a request cap, a JSON summary.
-- Environment: KIND (identity | trajectory | list | reads | mix), IDENTITIES, CAMERAS (comma list), CAP (requests
-- per wrk thread), SEED.
local kind = os.getenv("KIND")
local identities = tonumber(os.getenv("IDENTITIES"))
local cap = tonumber(os.getenv("CAP"))
local cameras = {}
for c in string.gmatch(os.getenv("CAMERAS"), "[^,]+") do cameras[#cameras + 1] = c end
math.randomseed(tonumber(os.getenv("SEED")))
local answered = 0

local function path_of(k)
  if k == "identity" then return "/api/v1/identities/" .. math.random(1, identities) end
  if k == "trajectory" then return "/api/v1/identities/" .. math.random(1, identities) .. "/trajectory?limit=100" end
  return "/api/v1/identities?camera=" .. cameras[math.random(1, #cameras)] .. "&limit=50"
end

request = function()
  local k = kind
  local r = math.random()
  if k == "mix" then  -- the benchmark's mix: 40 % identity, 40 % trajectory, 20 % list
    k = (r < 0.4 and "identity") or (r < 0.8 and "trajectory") or "list"
  elseif k == "reads" then  -- the target's queries: identity and trajectory, half each
    k = (r < 0.5 and "identity") or "trajectory"
  end
  return wrk.format("GET", path_of(k))
end

response = function(status, headers, body)
  answered = answered + 1
  if answered >= cap then wrk.thread:stop() end
end

done = function(summary, latency, requests)
  local points = {}
  for _, p in ipairs({1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9}) do
    points[#points + 1] = string.format('"%s": %.3f', tostring(p), latency:percentile(p) / 1000)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_s": %.3f, "mean_ms": %.3f, "max_ms": %.3f, "errors": '
      .. '{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "percentiles_ms": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency.mean / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(points, ", ")))
end
