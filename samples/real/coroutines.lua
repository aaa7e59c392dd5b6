-- coroutines.lua: coroutines for the Lua driver (run by tests/realprogs.py natively and
-- under vmemu; the output must be identical). Generators, a producer/filter/consumer
-- pipeline, many coroutines alive at once, yields across pcall, coroutine.wrap, status,
-- errors inside a coroutine and coroutine.close.
local N = tonumber(arg[1]) or 20000

local function gen(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i) end
  end)
end
local s = 0
for v in gen(N) do s = s + v end
print("generator", s)

-- Pipeline: producer -> filter (odd squares) -> consumer.
local producer = coroutine.create(function()
  for i = 1, N do coroutine.yield(i) end
  return nil
end)
local filter = coroutine.create(function()
  while true do
    local _, v = coroutine.resume(producer)
    if v == nil then return nil end
    if v % 2 == 1 then coroutine.yield(v * v) end
  end
end)
local count, total = 0, 0
while true do
  local _, v = coroutine.resume(filter)
  if v == nil then break end
  count, total = count + 1, total + v
end
print("pipeline", count, total, coroutine.status(filter), coroutine.status(producer))

-- Many coroutines alive at once, resumed round-robin.
local cos = {}
for i = 1, 2000 do
  cos[i] = coroutine.create(function(a)
    local acc = a
    for _ = 1, 10 do acc = acc + coroutine.yield(acc) end
    return acc
  end)
end
local sum = 0
for round = 0, 10 do
  for i = 1, #cos do
    local ok, v = coroutine.resume(cos[i], round == 0 and i or round)
    assert(ok)
    if round == 10 then sum = sum + v end
  end
end
print("round-robin", sum, coroutine.status(cos[1]))

-- Yield across pcall, an error inside a coroutine, close.
local co = coroutine.create(function()
  local ok, err = pcall(function()
    coroutine.yield("inside pcall")
    error("boom", 0)
  end)
  coroutine.yield(tostring(ok) .. " " .. err)
  error({ code = 42 })
end)
print("resume1", coroutine.resume(co))
print("resume2", coroutine.resume(co))
local ok, e = coroutine.resume(co)
print("resume3", ok, type(e), e.code, coroutine.status(co))
local pending = coroutine.create(function() coroutine.yield(1) end)
coroutine.resume(pending)
print("close", coroutine.close(pending), coroutine.status(pending))
print("isyieldable", coroutine.isyieldable(), type(coroutine.running()), select(2, coroutine.running()))
