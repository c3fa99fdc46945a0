-- GET /admin/identities/{id}, rotating through the seeded ids (IDS_FILE).
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local counter = 0

request = function()
  counter = counter % #ids + 1
  return wrk.format("GET", "/admin/identities/" .. ids[counter])
end
