-- wrk script for bench/uploads.sh: POST /api/v1/offers/{id}/applications, multipart, with a
-- different email on every request (one application per email per offer, 409 otherwise).
--
-- Environment: APPLY_PATH (/api/v1/offers/<id>/applications), CV_PDF, LETTER_PDF (optional:
-- no cover_letter part when unset or empty), RUN_TAG (makes emails unique across runs).
-- The PDF files are read once per thread; each request is prefix .. email .. suffix.
-- Prints, at the end, the count of each HTTP status (only 201 is a success).

local boundary = "passerelle-bench-6b1f0e2d9c"
local path = assert(os.getenv("APPLY_PATH"), "APPLY_PATH is required")
local tag = os.getenv("RUN_TAG") or tostring(os.time())

local function readfile(p)
    local f = assert(io.open(p, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function field(name, value)
    return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name ..
        "\"\r\n\r\n" .. value .. "\r\n"
end

local function file(name, filename, bytes)
    return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name ..
        "\"; filename=\"" .. filename .. "\"\r\nContent-Type: application/pdf\r\n\r\n" ..
        bytes .. "\r\n"
end

local cv = readfile(assert(os.getenv("CV_PDF"), "CV_PDF is required"))
local letter_path = os.getenv("LETTER_PDF")
local letter = (letter_path and letter_path ~= "") and readfile(letter_path) or nil

local prefix = field("first_name", "Camille") .. field("last_name", "Bench") ..
    "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n"
local suffix = "\r\n" ..
    field("education_level", "master_1") ..
    field("school", "Université Grenoble Alpes") ..
    field("field_of_study", "Politiques publiques") ..
    field("available_from", "2027-03-01") ..
    field("available_until", "2027-08-31") ..
    field("consent_privacy", "true") ..
    field("privacy_notice_version", "2026-11") ..
    field("source", "bench") ..
    file("cv", "cv-camille-bench.pdf", cv) ..
    (letter and file("cover_letter", "lettre-camille-bench.pdf", letter) or "") ..
    "--" .. boundary .. "--\r\n"

local headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary }

local threads = {}
local next_id = 1

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local n = 0
statuses = {}

function init(args)
    statuses = {}
end

function request()
    n = n + 1
    local email = "bench-" .. tag .. "-t" .. tostring(tid) .. "-" .. n .. "@example.org"
    return wrk.format("POST", path, headers, prefix .. email .. suffix)
end

function response(status, headers, body)
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("statuses") or {}) do
            total[k] = (total[k] or 0) + v
        end
    end
    local keys = {}
    for k in pairs(total) do table.insert(keys, k) end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do table.insert(parts, k .. "=" .. total[k]) end
    io.write("statuses: " .. table.concat(parts, " ") .. "\n")
    io.write(string.format("body bytes per request: %d\n", #prefix + #suffix + 40))
    local ok = total["201"] or 0
    io.write(string.format("201 per second: %.2f\n", ok / (summary.duration / 1e6)))
end
