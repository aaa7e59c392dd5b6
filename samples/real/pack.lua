-- pack.lua: string.pack/unpack and utf8 for the Lua driver (run by tests/realprogs.py
-- natively and under vmemu; the output must be identical). Packs records with integers
-- of every size and endianness, floats, doubles and strings, unpacks them again and
-- checks the round trip, and prints hex dumps of a few encodings.
local N = tonumber(arg[1]) or 20000

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local fmt = "<i1I2i4I8js4zfdn"
local buf = {}
for i = 1, N do
  buf[#buf + 1] = string.pack(fmt, i % 128 - 64, i % 65536, -i * 1000, i * 123456789,
                              i * 7, "rec" .. i, "z" .. i, i / 4, i / 3, i * 0.5)
end
local blob = table.concat(buf)
print("packed", #blob)

local pos, bad, sum = 1, 0, 0
for i = 1, N do
  local a, b, c, d, e, f, g, h, k, m, nextpos = string.unpack(fmt, blob, pos)
  if a ~= i % 128 - 64 or b ~= i % 65536 or c ~= -i * 1000 or d ~= i * 123456789
     or e ~= i * 7 or f ~= "rec" .. i or g ~= "z" .. i or h ~= i / 4
     or k ~= i / 3 or m ~= i * 0.5 then
    bad = bad + 1
  end
  sum = sum + a + b + e
  pos = nextpos
end
print("unpacked", bad, sum, pos - 1 == #blob)

print("big", hex(string.pack(">i2I3i8", -2, 0x123456, -1)))
print("little", hex(string.pack("<i2I3i8", -2, 0x123456, -1)))
print("double", hex(string.pack("<d", math.pi)), hex(string.pack(">f", -1.5)))
print("aligned", hex(string.pack("!8<b i8", 1, 2)), string.packsize("!8<b i8"))
print("size", string.packsize("<i1I2i4I8fd"), string.packsize("i16"))
local ok, err = pcall(string.unpack, "i4", "abc")
print("short", ok, err)

local u = utf8.char(72, 228, 8364, 128512, 0x10FFFF)
print("utf8", #u, utf8.len(u), hex(u))
local cps = {}
for _, c in utf8.codes(u) do cps[#cps + 1] = c end
print("codes", table.concat(cps, " "), utf8.offset(u, 3), utf8.codepoint(u, 1, 3))
