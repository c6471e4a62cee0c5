-- Replays a request plan written by scripts/bench/run.py; configured through the environment:
--   WRK_PLAN          file of lines "METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY" (BODY may be empty)
--   WRK_DELAY_MS      > 0: each connection pauses about this long (uniformly 0.5x..1.5x) between a
--                     response and its next request, for a paced, fixed-rate load
--   WRK_MAX_REQUESTS  > 0: each thread stops after this many responses
-- wrk exposes no connection handle to Lua, so each thread deals the plan's lines out round-robin,
-- starting at its own offset; the plan interleaves users, so in-flight requests carry different tokens.
-- Prints one line "BENCH_RESULT {json}" at the end.

local requests = {}
local position = 0
local received = 0
local threads = {}
local counter = 0
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0") or 0
local max_requests = tonumber(os.getenv("WRK_MAX_REQUESTS") or "0") or 0

function setup(thread)
   thread:set("index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(os.getenv("WRK_PLAN"), "r"))
   for line in file:lines() do
      local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      if token ~= "" then headers["Authorization"] = "Bearer " .. token end
      if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
      table.insert(requests, wrk.format(method, path, headers, body))
   end
   file:close()
   position = (index or 0) * 7919
   math.randomseed(12345 + (index or 0))
end

function request()
   position = position + 1
   return requests[(position % #requests) + 1]
end

if delay_ms > 0 then
   function delay()
      return math.floor(delay_ms * (0.5 + math.random()))
   end
end

if max_requests > 0 then
   function response(status, headers, body)
      received = received + 1
      if received >= max_requests then wrk.thread:stop() end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
