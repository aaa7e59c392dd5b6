-- gc.lua: garbage-collector stress for the Lua driver (run by tests/realprogs.py natively
-- and under vmemu; the output must be identical). Allocates many short-lived tables and
-- strings in incremental and generational mode, keeps a rotating window of live objects,
-- uses weak tables and finalizers, and checks that memory is given back after a full
-- collection. Only counts that do not depend on the allocator are printed.
local ROUNDS = tonumber(arg[1]) or 200

local function churn(rounds)
  local window, live = {}, 0
  for r = 1, rounds do
    for i = 1, 1000 do
      local t = { r, i, tostring(r * i), { i, i + 1 } }
      window[(r * 1000 + i) % 5000 + 1] = t
    end
  end
  for _, t in pairs(window) do live = live + t[4][2] end
  return live
end

collectgarbage("incremental")
print("incremental", churn(ROUNDS))
collectgarbage("generational")
print("generational", churn(ROUNDS))
collectgarbage("incremental")

-- Weak tables lose their entries once the keys are unreachable.
local weak = setmetatable({}, { __mode = "k" })
local keep = {}
for i = 1, 10000 do
  local k = {}
  weak[k] = i
  if i % 10 == 0 then keep[#keep + 1] = k end
end
collectgarbage("collect")
local n = 0
for _ in pairs(weak) do n = n + 1 end
print("weak", n)

-- Finalizers run on collection (and at lua_close for the rest).
local finalized = 0
for i = 1, 5000 do
  setmetatable({}, { __gc = function() finalized = finalized + 1 end })
end
collectgarbage("collect")
collectgarbage("collect")
print("finalized", finalized)

-- A big live structure, then released: the heap shrinks again.
local big = {}
for i = 1, 200000 do big[i] = { i } end
local peak = collectgarbage("count")
big = nil
collectgarbage("collect")
local after = collectgarbage("count")
print("released", peak > 4 * after)

-- Long strings.
local strs = {}
for i = 1, 2000 do strs[i] = string.rep(string.char(97 + i % 26), 1000 + i) end
local len = 0
for i = 1, #strs do len = len + #strs[i] end
strs = nil
collectgarbage("collect")
print("strings", len)
