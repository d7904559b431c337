-- wrk script: GET <prefix>/<random id>, ids read from the file named in WRK_IDS.
-- Each wrk thread loads the list once and seeds its own generator.
local ids = {}
local prefix = os.getenv("WRK_PREFIX") or "/Patient/"

function init(args)
  for line in io.lines(os.getenv("WRK_IDS")) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time() + (tonumber(tostring(ids):match("0x(%x+)") or "0", 16) % 100003))
end

local headers = {["Accept"] = "application/fhir+json"}
if os.getenv("WRK_TOKEN") then  -- a bearer token, for a server with --auth required
  headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)], headers)
end

function done(summary, latency, requests)
  local out = io.stderr
  out:write(string.format("WRKJSON {\"requests\": %d, \"seconds\": %.6f, \"non2xx\": %d, " ..
    "\"errors\": %d, \"p50\": %d, \"p90\": %d, \"p99\": %d, \"max\": %d, \"mean\": %.1f}\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
