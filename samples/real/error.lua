-- error.lua: a script that fails after printing, for the Lua driver: stdout up to the
-- error and exit status 1 must be the same natively and under vmemu.
print("before the error")
local t = setmetatable({}, { __index = function(_, k) return k * 2 end })
print(t[21])
error("deliberate failure at " .. t[50])
