-- bench/api: one request, repeated over keep-alive connections, for wrk.
--
--   wrk ... -s bench/api/req.lua URL -- METHOD TOKEN [BODY]
--
-- TOKEN "" sends no Authorization header (the peer server); BODY is sent
-- as application/json.  The request is set up in init() and no request()
-- function is defined, so wrk builds it once per thread (a "static"
-- request) and Lua costs nothing per request.
--
-- done() adds one line for bench/api/run.sh to read, besides wrk's own
-- report: totals, latency percentiles in microseconds, and the responses
-- that were not 2xx/3xx (a benchmark of 401s or 500s is no benchmark).

function init(args)
	wrk.method = args[1] or "GET"
	if args[2] ~= nil and args[2] ~= "" then
		wrk.headers["Authorization"] = "Bearer " .. args[2]
	end
	if args[3] ~= nil then
		wrk.body = args[3]
		wrk.headers["Content-Type"] = "application/json"
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("wrk-result: requests=%d duration_us=%d " ..
	    "p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d " ..
	    "sockerr=%d\n", summary.requests, summary.duration,
	    latency:percentile(50), latency:percentile(90),
	    latency:percentile(99), latency.max, e.status,
	    e.connect + e.read + e.write + e.timeout))
end
