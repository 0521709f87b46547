-- wrk script for bench/ratelimit.sh: each request claims one of 4096 client addresses
-- (198.18.0.0/20, the benchmarking range) in X-Forwarded-For, so the limiter counts many
-- clients, as in production, instead of one hot row.
local n = 0
request = function()
    n = n + 1
    local a = n % 4096
    wrk.headers["X-Forwarded-For"] = string.format("198.18.%d.%d", math.floor(a / 256), a % 256)
    return wrk.format(nil, nil)
end
