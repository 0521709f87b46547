-- wrk script for bench/mixed.sh: one part of the mixed load, chosen by MIX.
--
--   MIX=browse  public catalogue: first pages, department and remote filters, deep pages by
--               cursor, single offers by slug (SLUGS_FILE: one slug per line)
--   MIX=search  public full-text search (a few French words, unaccented forms included)
--   MIX=staff   a manager at work: staff offer list, applications of an offer, one
--               application read (audited); TOKEN, OFFER_ID, APPLICATION_IDS_FILE
--   MIX=apply   candidates applying with a CV (CV_PDF) to OFFER_ID, a new email each time,
--               one request per DELAY_MS (default 250) per connection
--
-- Prints the count of each HTTP status at the end ("status <code> <count>").

local mix = assert(os.getenv("MIX"), "MIX is required")

local function lines(path)
    local out = {}
    for l in io.lines(path) do
        if l ~= "" then out[#out + 1] = l end
    end
    return out
end

local function readfile(p)
    local f = assert(io.open(p, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local paths, n, build = {}, 0, nil
local token = os.getenv("TOKEN")
local auth = token and { ["Authorization"] = "Bearer " .. token } or {}

if mix == "browse" then
    local slugs = lines(assert(os.getenv("SLUGS_FILE"), "SLUGS_FILE is required"))
    local fixed = {
        "/api/v1/offers", "/api/v1/offers?limit=50",
        "/api/v1/offers?department=Direction%20Ville%20Ouverte", "/api/v1/offers?remote=partial",
        "/api/v1/offers?paid=true&facets=true", "/api/v1/offers?sort=application_deadline&limit=10",
    }
    build = function(i)
        if i % 3 == 0 then
            return wrk.format("GET", fixed[math.floor(i / 3) % #fixed + 1])
        end
        return wrk.format("GET", "/api/v1/offers/" .. slugs[i % #slugs + 1])
    end
elseif mix == "search" then
    local words = { "coopération", "cooperation", "jeunesse", "culture", "eau", "urbanisme",
        "solidarité", "international", "communication", "environnement", "santé", "éducation" }
    local function encode(s)
        return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
    end
    for k, w in ipairs(words) do words[k] = encode(w) end
    build = function(i)
        return wrk.format("GET", "/api/v1/offers?q=" .. words[i % #words + 1])
    end
elseif mix == "staff" then
    local offer = assert(os.getenv("OFFER_ID"), "OFFER_ID is required")
    local apps = lines(assert(os.getenv("APPLICATION_IDS_FILE"), "APPLICATION_IDS_FILE is required"))
    build = function(i)
        local k = i % 3
        if k == 0 then
            return wrk.format("GET", "/api/v1/staff/offers?limit=20", auth)
        elseif k == 1 then
            return wrk.format("GET", "/api/v1/staff/offers/" .. offer .. "/applications?limit=20", auth)
        end
        return wrk.format("GET", "/api/v1/staff/applications/" .. apps[i % #apps + 1], auth)
    end
elseif mix == "apply" then
    local boundary = "passerelle-bench-mixed-7c2"
    local offer = assert(os.getenv("OFFER_ID"), "OFFER_ID is required")
    local cv = readfile(assert(os.getenv("CV_PDF"), "CV_PDF is required"))
    local tag = os.getenv("RUN_TAG") or tostring(os.time())
    local function field(name, value)
        return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name ..
            "\"\r\n\r\n" .. value .. "\r\n"
    end
    local suffix = field("education_level", "master_1") ..
        field("school", "Université Grenoble Alpes") ..
        field("field_of_study", "Politiques publiques") ..
        field("available_from", "2027-03-01") ..
        field("available_until", "2027-08-31") ..
        field("consent_privacy", "true") ..
        field("privacy_notice_version", "2026-11") ..
        "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"" ..
        "\r\nContent-Type: application/pdf\r\n\r\n" .. cv .. "\r\n--" .. boundary .. "--\r\n"
    local headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary }
    local path = "/api/v1/offers/" .. offer .. "/applications"
    build = function(i)
        local email = "mixed-" .. tag .. "-t" .. tostring(tid) .. "-" .. i .. "@bench.example"
        local body = field("first_name", "Camille") .. field("last_name", "Bench") ..
            field("email", email) .. suffix
        return wrk.format("POST", path, headers, body)
    end
    local delay_ms = tonumber(os.getenv("DELAY_MS") or "250")
    function delay() return delay_ms end
else
    error("unknown MIX " .. mix)
end

local threads, next_id = {}, 1
function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

statuses = {}
function init(args)
    statuses = {}
end

function request()
    n = n + 1
    return build(n)
end

function response(status, headers, body)
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        local s = t:get("statuses")
        for code, count in pairs(s or {}) do
            total[code] = (total[code] or 0) + count
        end
    end
    local keys = {}
    for k in pairs(total) do table.insert(keys, k) end
    table.sort(keys)
    for _, k in ipairs(keys) do io.write("status " .. k .. " " .. total[k] .. "\n") end
end
