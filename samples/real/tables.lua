-- tables.lua: table- and closure-heavy work for the Lua driver (run by tests/realprogs.py
-- natively and under vmemu; the output must be identical). Sorts 100k pseudo-random
-- numbers (default order and a comparator), builds and walks a hash table, uses closures
-- as counters and as an iterator, and does a small memoised recursion.
local N = tonumber(arg[1]) or 100000

-- Deterministic LCG (integers, 5.4 has 64-bit wrap-around).
local seed = 12345
local function rand()
  seed = (seed * 6364136223846793005 + 1442695040888963407)
  return (seed >> 33) % 1000000
end

local a, b = {}, {}
for i = 1, N do
  local v = rand()
  a[i] = v
  b[i] = { key = v, idx = i }
end
table.sort(a)
local ok = true
for i = 2, N do
  if a[i - 1] > a[i] then ok = false end
end
print("sorted", ok, a[1], a[N // 2], a[N])
table.sort(b, function(x, y)
  if x.key ~= y.key then return x.key > y.key end
  return x.idx < y.idx
end)
print("sorted desc", b[1].key, b[1].idx, b[N].key, b[N].idx)

-- Hash table: count keys by bucket.
local buckets = {}
for i = 1, N do
  local k = "k" .. (a[i] % 997)
  buckets[k] = (buckets[k] or 0) + 1
end
local keys = {}
for k in pairs(buckets) do keys[#keys + 1] = k end
table.sort(keys)
print("buckets", #keys, keys[1], buckets[keys[1]], keys[#keys], buckets[keys[#keys]])

-- Closures.
local function counter(step)
  local n = 0
  return function() n = n + step; return n end
end
local cs = {}
for i = 1, 1000 do cs[i] = counter(i) end
local total = 0
for round = 1, 50 do
  for i = 1, #cs do total = total + cs[i]() end
end
print("closures", total)

local function range(n)
  local i = 0
  return function()
    i = i + 1
    if i <= n then return i end
  end
end
local acc = 0
for i in range(N) do acc = acc + i * i end
print("iterator", acc)

-- Memoised recursion and table.insert/remove/move/unpack.
local memo = {}
local function fib(n)
  if n < 2 then return n end
  if memo[n] then return memo[n] end
  local v = fib(n - 1) + fib(n - 2)
  memo[n] = v
  return v
end
print("fib", fib(90))
local q = {}
for i = 1, 2000 do table.insert(q, 1 + (i % 7 == 0 and 0 or #q), i) end
local removed = 0
while #q > 1000 do removed = removed + table.remove(q, 1) end
local moved = table.move(q, 1, 10, 1, {})
print("list", #q, removed, table.concat(moved, ","), select("#", table.unpack(q, 1, 100)))
