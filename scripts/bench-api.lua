-- wrk script of scripts/bench-api: every request POSTs a new submission to the milestone
-- BENCH_MILESTONE with the bearer token BENCH_TOKEN. No two requests share a period: thread t
-- takes period starts from the year 1000 + 500 t on, 336 days a year (days 1-28 of each month),
-- so each thread has 168,000 distinct periods, all ending 2020-01-01.
local threads = 0

function setup(thread)
    thread:set("thread_index", threads)
    threads = threads + 1
end

function init(args)
    path = "/v1/milestones/" .. os.getenv("BENCH_MILESTONE") .. "/submissions"
    headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") }
    sent = 0
end

function request()
    local year = 1000 + 500 * thread_index + math.floor(sent / 336)
    local month = math.floor(sent / 28) % 12 + 1
    local day = sent % 28 + 1
    sent = sent + 1
    local body = string.format('{"period_start":"%04d-%02d-%02d","period_end":"2020-01-01","value":"1","unit":"t"}',
        year, month, day)
    return wrk.format("POST", path, headers, body)
end
