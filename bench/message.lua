-- wrk script: POST /v1/agents/{id}/messages with the builtin model.
--
-- Environment (set by bench/run.sh and bench/conversations.sh):
--   FAOS_KEY       secret key (sk_live_… / sk_test_…)
--   FAOS_AGENT_ID  agent to talk to (agt_…)
--   FAOS_CONV_PREFIX prefix of the conversation ids (default "b"); give each
--                  wrk run against the same server its own prefix, so no run
--                  reuses another's conversations
--   FAOS_CONV_MODE "unique" (default): every request gets its own
--                  conversation_id ("<prefix><thread>-<n>"), so the history loaded
--                  per message is always empty and latency does not drift
--                  as the run goes on.
--                  "rotate": requests cycle through FAOS_CONV_COUNT (default
--                  8) conversation ids per thread, so history grows. With
--                  more connections per thread than ids, two requests can
--                  hit the same conversation at once; the server answers
--                  409 conflict (on_busy defaults to "reject").
--
-- Each wrk thread has its own Lua state; setup() hands each one a number so
-- conversation ids never collide between threads.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local key = os.getenv("FAOS_KEY") or error("FAOS_KEY is not set")
local agent = os.getenv("FAOS_AGENT_ID") or error("FAOS_AGENT_ID is not set")
local mode = os.getenv("FAOS_CONV_MODE") or "unique"
local rotate = tonumber(os.getenv("FAOS_CONV_COUNT") or "8")
local prefix = os.getenv("FAOS_CONV_PREFIX") or "b"

local path = "/v1/agents/" .. agent .. "/messages"
local headers = {
  ["Authorization"] = "Bearer " .. key,
  ["Content-Type"] = "application/json",
}
local counter = 0

function request()
  counter = counter + 1
  local n = counter
  if mode == "rotate" then
    n = counter % rotate
  end
  local conv = prefix .. tostring(tid or 0) .. "-" .. tostring(n)
  local body = '{"content":"How do I get a refund?","conversation_id":"' .. conv .. '"}'
  return wrk.format("POST", path, headers, body)
end
