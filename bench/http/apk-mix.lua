-- wrk script: every request is a different client (X-Forwarded-For) and apk path, taken from
-- a pre-generated workload file of "address path" lines (bench/results/workload.txt).
--
--   wrk -t1 -c64 -d10s -s bench/http/apk-mix.lua http://127.0.0.1:PORT -- FILE THREADS START [once|noxff|pace=MS]
--
-- THREADS must equal wrk's -t. Each thread walks the (already shuffled) list from its own
-- offset, shifted by START (so successive runs do not all replay the same first lines). With "once" each thread sends its share of the list one time (the cold-cache
-- pass): when it has all its responses it stops and prints "WRK_ONCE_DONE", and the runner
-- then sends wrk SIGINT so that wrk reports at once instead of sleeping out -d.
-- With "pace=MS" every connection waits MS milliseconds after each response before its next
-- request, so C connections offer about C * 1000 / MS requests/s: a load below saturation.
-- wrk starts a request's clock when it writes it, so the wait is not counted as latency.
-- Headers given with -H (e.g. "Connection: close") are kept on every request.
-- done() prints one line "WRK_RESULT {json}" for the runner to parse.

local threads = {}
local thread_count = 0

function setup (thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init (args)
  local file = args[1]
  local threads_total = tonumber(args[2] or "1") or 1
  local start = tonumber(args[3] or "0") or 0
  once = args[4] == "once"
  -- "noxff": the same paths without X-Forwarded-For (every request is the loopback client), to
  -- warm up a fresh server without putting any workload network into its caches.
  local noxff = args[4] == "noxff"
  local pace = tonumber((args[4] or ""):match("^pace=(%d+)$"))
  -- wrk looks for a global delay() after init, so defining it here turns pacing on.
  if pace then delay = function () return pace end end
  local lines = {}
  local fh = assert(io.open(file, "r"))
  for line in fh:lines() do
    local ip, path = line:match("^(%S+) (%S+)$")
    if ip then lines[#lines + 1] = { ip, path } end
  end
  fh:close()
  local n = #lines
  assert(n > 0, "empty workload file " .. file)

  -- This thread's slice when sending once; the whole list, rotated, otherwise.
  local share = math.floor(n / threads_total)
  local offset = start + thread_index * share
  total = once and share or n

  -- Pre-render every request so request() does no string work on the hot path.
  requests = {}
  for i = 1, total do
    local entry = lines[((offset + i - 1) % n) + 1]
    local headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    if not noxff then headers["X-Forwarded-For"] = entry[1] end
    headers["User-Agent"] = "apk-tools/2.14.9"
    requests[i] = wrk.format("GET", entry[2], headers)
  end
  next_index = 0
  sent = 0
  responses_3xx = 0
  responses_other = 0
end

function request ()
  sent = sent + 1
  next_index = next_index % total + 1
  return requests[next_index]
end

function response (status, headers, body)
  if status >= 300 and status < 400 then
    responses_3xx = responses_3xx + 1
  else
    responses_other = responses_other + 1
  end
  if once and responses_3xx + responses_other == total then
    io.write("WRK_ONCE_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done (summary, latency, requests)
  local r3, other = 0, 0
  for _, t in ipairs(threads) do
    r3 = r3 + (tonumber(t:get("responses_3xx")) or 0)
    other = other + (tonumber(t:get("responses_other")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"responses3xx":%d,"responsesOther":%d,"latencyUs":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    r3, other, latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
