/* lua: a minimal stand-alone driver for Debian's liblua5.4.a (the interpreter is the
 * library; this file only starts it). Creates a lua_State, opens the standard libraries,
 * sets the global `arg` table as the stock lua interpreter does (arg[0] = script,
 * arg[1..] = its arguments) and runs argv[1] with luaL_dofile. A Lua error is printed on
 * stderr and gives exit 1. Built statically by samples/real/CMakeLists.txt; run by
 * tests/realprogs.py and tests/bench.py natively and under vmemu. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "lua: cannot create state\n");
        return 1;
    }
    luaL_openlibs(L);
    lua_createtable(L, argc - 2, 1);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    int status = 0;
    if (luaL_dofile(L, argv[1]) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "lua: %s\n", msg ? msg : "(error object is not a string)");
        status = 1;
    }
    fflush(stdout);
    lua_close(L);
    return status;
}
