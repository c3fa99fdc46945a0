-- GET /admin/identities?page_size=250&page_token=..., rotating through every page (TOKENS_FILE).
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local counter = 0

request = function()
  counter = counter % #tokens + 1
  local token = tokens[counter]
  local path = "/admin/identities?page_size=250"
  if token ~= "first" then path = path .. "&page_token=" .. token end
  return wrk.format("GET", path)
end
