-- wrk script: POST /api/v1/events with a distinct event per request (a durable ledger append each),
-- round-robin over the nine example models (a model change is an import that rewrites that model's
-- rows, events included, so its cost grows with the model's event count: docs/benchmarks.md).
-- The token comes from the environment (FLOPLINE_TOKEN); times step back from 2026-01-01 one second
-- per request per thread, so no two requests record the same event.
local models = {"uni-distilled-3b", "bigco-f1-tuned", "acme-f1", "acme-f1-chat", "acme-f1-partner-copy",
                "midlab-f1", "smallco-base", "llama-2-7b", "tinylab-support-7b"}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("FLOPLINE_TOKEN")
end

function request()
  counter = counter + 1
  local t = 1767225600 - (thread_id * 10000000) - counter  -- seconds before 2026-01-01
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", t)
  local model = models[counter % #models + 1]
  local body = string.format('{"model":"%s","kind":"training-started","at":"%s"}', model, at)
  return wrk.format("POST", "/api/v1/events", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

local errors = 0
function response(status, headers, body)
  if status ~= 201 then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
