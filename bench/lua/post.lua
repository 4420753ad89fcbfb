-- wrk script of the Integra benchmark: POST one GraphQL body, count GraphQL errors.
-- Arguments (after --): <file with the request body> [<Authorization header value>]
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  if args[2] ~= nil and args[2] ~= "" then
    wrk.headers["Authorization"] = args[2]
  end
  gql_errors = 0
  prepared = wrk.format()
end

function request()
  return prepared
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
end

function done(summary, latency, requests)
  local graphql = 0
  for _, thread in ipairs(threads) do
    graphql = graphql + thread:get("gql_errors")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, ' ..
    '"graphql_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    graphql, latency:percentile(50), latency:percentile(99)))
end
