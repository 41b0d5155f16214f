-- wrk script for scripts/bench-e2e.sh: sends pre-generated requests, one per line of a file
-- (`<signature>\t<body>`), each line at most once, split between wrk's threads; counts the
-- answers by status and prints one JSON line of results.
--   wrk ... -s bench/e2e/load.lua <url> -- <lines file> <threads> <mode> [braze key]
-- mode: "extole" signs with X-Extole-Signature; "braze" sends Authorization: Bearer <key>
-- and cycles through the file (its lines carry no event id); "get" sends GET requests; any
-- other mode sends the bodies unsigned. Outside "braze" and "get", a thread that runs out of
-- lines sends GET /__out_of_bodies instead (never a repeated event) and the result says so:
-- the run is then too long for the file.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads, key
  path, nthreads, mode, key = args[1], tonumber(args[2]), args[3], args[4]
  requests = {}
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == id then
      local sig, body = line:match("^(%x*)\t(.*)$")
      local headers = { ["Content-Type"] = "application/json" }
      if mode == "extole" then
        headers["X-Extole-Signature"] = sig
      elseif mode == "braze" then
        headers["Authorization"] = "Bearer " .. key
      end
      if mode == "get" then
        requests[#requests + 1] = wrk.format("GET", nil, {})
      else
        requests[#requests + 1] = wrk.format("POST", nil, headers, body)
      end
    end
    i = i + 1
  end
  nxt = 1
  sent_out = 0
  ok = 0
  other = 0
end

function request()
  local r = requests[nxt]
  if r == nil and (mode == "braze" or mode == "get") and nxt > 1 then
    nxt = 1
    r = requests[nxt]
  end
  if r == nil then
    sent_out = sent_out + 1
    return wrk.format("GET", "/__out_of_bodies")
  end
  nxt = nxt + 1
  return r
end

function response(status, headers, body)
  if status == 200 or status == 201 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t_ok, t_other, t_out = 0, 0, 0
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok")
    t_other = t_other + thread:get("other")
    t_out = t_out + thread:get("sent_out")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"ok":%d,"other_status":%d,"out_of_bodies":%d,' ..
    '"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, t_ok, t_other, t_out,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
