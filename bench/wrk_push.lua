-- wrk script (bench/wrkload.py runs it): signed GitHub `push` deliveries, one per request.
--
-- wrk -s bench/wrk_push.lua URL -- POOL_FILE STOP_AFTER ID_PREFIX
--   POOL_FILE   one delivery a line: `<X-Hub-Signature-256>\t<compact JSON body>`, every body
--               different (so none is a replay), signed before the clock starts
--   STOP_AFTER  > 0: send the first STOP_AFTER lines once each, stop when all are answered
--               (for a server that stores deliveries); 0: cycle the pool until `-d` is up
--   ID_PREFIX   24 characters of a uuid; a counter completes each X-GitHub-Delivery, so every
--               request has its own delivery id, whatever the pool size
-- done() prints one line, `BENCH-RESULT {json}`, for the bench to read; its `elapsed_us` runs
-- from this thread's first request to its last answer (wrk's own duration is the whole `-d`).

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
int getpid(void);
long syscall(long number, ...);
]])
local TGKILL = ({ x64 = 234, arm64 = 131 })[ffi.arch]
local now_ts = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(1, now_ts) -- CLOCK_MONOTONIC
  return tonumber(now_ts.tv_sec) * 1000000 + math.floor(tonumber(now_ts.tv_nsec) / 1000)
end

local function end_run()
  -- wrk's main thread sleeps for `-d`; SIGINT (which wrk handles as "stop now") cuts the sleep
  -- short. It has to reach the main thread (its thread id is the process id), hence tgkill.
  if TGKILL then
    local pid = ffi.cast("long", ffi.C.getpid()) -- a plain number would go as a double
    ffi.C.syscall(TGKILL, pid, pid, ffi.cast("long", 2))
  end
end

local pool = {}
local head = ""
local stop_after = 0
local prefix = ""
local sent = 0
local answered = 0
local verifying = false
statuses = {} -- globals: done() reads them through thread:get()
first_us = 0
last_us = 0

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  for line in file:lines() do
    local tab = line:find("\t", 1, true)
    local body = line:sub(tab + 1)
    pool[#pool + 1] = "X-Hub-Signature-256: " .. line:sub(1, tab - 1) .. "\r\n"
      .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
  end
  file:close()
  stop_after = tonumber(args[2])
  prefix = args[3]
  -- wrk calls request() once in the first thread before the run, to check what it returns;
  -- that one is never sent, so it must not use up a delivery.
  verifying = thread_number == 1
  head = "POST " .. wrk.path .. " HTTP/1.1\r\n"
    .. "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\n"
    .. "X-GitHub-Event: push\r\n"
    .. "X-GitHub-Hook-ID: 4242\r\n"
    .. "Content-Type: application/json\r\n"
    .. "User-Agent: GitHub-Hookshot/bench\r\n"
    .. "X-GitHub-Delivery: " .. prefix
end

function request()
  if verifying then
    verifying = false
    return head .. "000000000000\r\n" .. pool[1]
  end
  if stop_after > 0 and sent >= stop_after then
    -- Nothing more to send: an empty write leaves this connection waiting, and response()
    -- stops the thread once the last real request is answered.
    return ""
  end
  local entry = pool[(sent % #pool) + 1]
  if sent == 0 then
    first_us = now_us()
  end
  sent = sent + 1
  return head .. string.format("%012x", sent) .. "\r\n" .. entry
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  last_us = now_us()
  if stop_after > 0 and answered >= stop_after then
    wrk.thread:stop()
    end_run()
  end
end

function done(summary, latency, requests)
  local counts = {}
  local first, last = nil, 0
  for _, thread in ipairs(threads) do
    local began, ended = thread:get("first_us"), thread:get("last_us")
    if began and began > 0 and (first == nil or began < first) then
      first = began
    end
    if ended and ended > last then
      last = ended
    end
    local seen = thread:get("statuses") or {}
    for status, count in pairs(seen) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"duration_us": %d, "elapsed_us": %d, "requests": %d, "statuses": {%s}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.duration, first and last - first or 0, summary.requests, table.concat(parts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max
  ))
end
