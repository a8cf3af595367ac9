// The part of fengari's (untyped) API the Argo CD health test uses.
declare module 'fengari' {
  type LuaState = object;
  type LuaString = Uint8Array;
  interface Lua {
    LUA_OK: number;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_setfield(L: LuaState, idx: number, k: string | LuaString): void;
    lua_getfield(L: LuaState, idx: number, k: string | LuaString): number;
    lua_rawseti(L: LuaState, idx: number, n: number): void;
    lua_setglobal(L: LuaState, name: string | LuaString): void;
    lua_pushstring(L: LuaState, s: LuaString): void;
    lua_pushinteger(L: LuaState, n: number): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushnil(L: LuaState): void;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_tojsstring(L: LuaState, idx: number): string;
    lua_isnil(L: LuaState, idx: number): boolean;
    lua_pop(L: LuaState, n: number): void;
  }
  const fengari: {
    lua: Lua;
    lauxlib: {
      luaL_newstate(): LuaState;
      luaL_loadstring(L: LuaState, s: LuaString): number;
    };
    lualib: { luaL_openlibs(L: LuaState): void };
    to_luastring(s: string): LuaString;
  };
  export default fengari;
}
