-- wrk script of the Tessera benchmark harness.
-- Usage: wrk ... -s bench/lib/wrk.lua <url> -- <spec file> <threads>
-- The spec file holds: the method (line 1), the path (line 2), header lines "Name: value" up to a
-- blank line, then request bodies, one per line. With one body (or none) every request is the
-- same; with several, each thread takes every n-th body (n = threads) and sends each at most once
-- per pass: a body is only reused once the thread has run out, and `exhausted` counts such wraps.
-- A header line "@per-request-authorization: 1" switches to lines "<Authorization value>\t<body>":
-- each request then carries its own Authorization header too (a different client per request).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local method, path
local headers = {}
local bodies = {}
local n = 0
local idx = 0
local static = nil
local perRequestAuth = false
local auths = {}
exhausted = 0

function init(args)
  local nthreads = tonumber(args[2]) or 1
  local f = assert(io.open(args[1], "r"))
  method = f:read("*l")
  path = f:read("*l")
  while true do
    local line = f:read("*l")
    if line == nil or line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k == "@per-request-authorization" then
      perRequestAuth = true
    else
      headers[k] = v
    end
  end
  local all = {}
  for line in f:lines() do all[#all + 1] = line end
  f:close()
  if #all <= 1 and not perRequestAuth then
    static = wrk.format(method, path, headers, all[1])
    return
  end
  for i = 1, #all do
    if ((i - 1) % nthreads) == tid then
      n = n + 1
      if perRequestAuth then
        local a, b = all[i]:match("^([^\t]*)\t(.*)$")
        auths[n] = a
        bodies[n] = b
      else
        bodies[n] = all[i]
      end
    end
  end
end

function request()
  if static then return static end
  idx = idx + 1
  if idx > n then
    idx = 1
    exhausted = exhausted + 1
  end
  if perRequestAuth then headers["Authorization"] = auths[idx] end
  return wrk.format(method, path, headers, bodies[idx])
end

function done(summary, latency, requests)
  local ex = 0
  for _, t in ipairs(threads) do ex = ex + (t:get("exhausted") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,"exhausted":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max, ex))
end
