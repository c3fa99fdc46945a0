-- GET /sessions/whoami, rotating through the seeded session tokens (TOKENS_FILE), as X-Session-Token.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local counter = 0

request = function()
  counter = counter % #tokens + 1
  return wrk.format("GET", "/sessions/whoami", {["X-Session-Token"] = tokens[counter]})
end
