-- strings.lua: string-heavy work for the Lua driver (run by tests/realprogs.py natively
-- and under vmemu; the output must be identical). gsub with patterns and replacement
-- functions, string.format, string.rep, table.concat, find/match/gmatch, byte/char,
-- upper/lower/reverse, and a rolling checksum over everything produced.
local N = tonumber(arg[1]) or 20000

local function checksum(s, h)
  h = h or 0
  for i = 1, #s, 7 do
    h = (h * 31 + s:byte(i)) % 4294967291
  end
  return h
end

-- Build a text of N formatted lines.
local parts = {}
for i = 1, N do
  parts[#parts + 1] = string.format("%05d:%s:%x:%.3f:%-6s|", i, ("ab"):rep(i % 5 + 1),
                                    i * 2654435761 % 4294967296, i / 7, tostring(i % 13))
end
local text = table.concat(parts, "\n")
print("text", #text, checksum(text))

-- gsub with a pattern, a table and a function.
local swapped, n1 = text:gsub("(%d+):(%a+)", "%2=%1")
print("swap", n1, #swapped, checksum(swapped))
local digits, n2 = text:gsub("%d", { ["0"] = "o", ["1"] = "l", ["5"] = "S" })
print("digits", n2, checksum(digits))
local hex, n3 = text:gsub("%x%x%x%x%x+", function(h) return "<" .. #h .. ">" end)
print("hex", n3, #hex, checksum(hex))

-- gmatch, find, match.
local sum, count = 0, 0
for num in text:gmatch("(%d+%.%d+)") do
  sum = sum + tonumber(num)
  count = count + 1
end
print("floats", count, string.format("%.3f", sum))
local first, last = text:find("12345:", 1, true)
print("find", first, last, text:match("(%d+):ababab:", 100))

-- upper/lower/reverse/rep and string building by concatenation.
local s = ""
for i = 1, 2000 do
  s = s .. string.char(65 + i % 26)
end
print("concat", #s, s:sub(1, 30), s:lower():sub(-10), s:reverse():sub(1, 10))
local words = {}
for w in ("the quick brown fox jumps over the lazy dog "):rep(500):gmatch("%a+") do
  words[#words + 1] = w:upper()
end
print("words", #words, table.concat(words, " ", 1, 9))
print("format", string.format("%q", "tab\tnl\nquote\"zero\0end"),
      string.format("%10.4f|%-10d|%+e|%g|%5s|%x", math.pi, 42, 12345.678, 1e20, "ab", 255))
