import test from 'ava';
import fengari from 'fengari';
import { parse } from 'yaml';
import { CRDS } from '../../operator/src/api/v1alpha1.js';
import { readRepoFile } from './helpers.js';

const { lua, lauxlib, lualib, to_luastring } = fengari;
type LuaState = ReturnType<typeof lauxlib.luaL_newstate>;

const script = readRepoFile('config/argocd/health.lua');

/** Pushes a JSON value as Lua: arrays become 1-based sequences, whole numbers integers. */
function push(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (typeof value === 'number') {
    if (Number.isInteger(value)) lua.lua_pushinteger(L, value);
    else lua.lua_pushnumber(L, value);
  } else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, i) => {
      push(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else if (typeof value === 'object') {
    const entries = Object.entries(value);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, v] of entries) {
      push(L, v);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  } else throw new Error(`cannot convert ${typeof value} to Lua`);
}

/** Runs health.lua the way Argo CD does: `obj` global in, {status, message} table out. */
function health(obj: object): { status: string; message: string } {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  push(L, obj);
  lua.lua_setglobal(L, to_luastring('obj'));
  if (lauxlib.luaL_loadstring(L, to_luastring(script)) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
  if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
  lua.lua_getfield(L, -1, to_luastring('status'));
  const status = lua.lua_tojsstring(L, -1);
  lua.lua_pop(L, 1);
  lua.lua_getfield(L, -1, to_luastring('message'));
  const message = lua.lua_tojsstring(L, -1);
  return { status, message };
}

const condition = (type: string, status: string, message = '') => ({
  type,
  status,
  reason: 'Test',
  message,
  lastTransitionTime: '2025-01-02T03:04:05Z',
});

const resource = (generation: number, status?: object, kind = 'ProviderSet') => ({
  apiVersion: 'tfmirror.dev/v1alpha1',
  kind,
  metadata: { name: 'baseline', namespace: 'terraform-mirror', generation },
  spec: {},
  ...(status === undefined ? {} : { status }),
});

const cases: { name: string; obj: object; status: string; message: RegExp }[] = [
  {
    name: 'ready for the current generation is Healthy',
    obj: resource(3, {
      observedGeneration: 3,
      conditions: [condition('Ready', 'True', '12 of 12 packages mirrored'), condition('Progressing', 'False')],
    }),
    status: 'Healthy',
    message: /12 of 12 packages mirrored/,
  },
  {
    name: 'ready for an older generation is Progressing',
    obj: resource(4, { observedGeneration: 3, conditions: [condition('Ready', 'True')] }),
    status: 'Progressing',
    message: /observe generation 4/,
  },
  {
    name: 'not ready and not progressing is Degraded with the Ready message',
    obj: resource(3, {
      observedGeneration: 3,
      conditions: [condition('Ready', 'False', '2 packages failed'), condition('Progressing', 'False')],
    }),
    status: 'Degraded',
    message: /2 packages failed/,
  },
  {
    name: 'not ready without a Progressing condition is Degraded',
    obj: resource(3, { observedGeneration: 3, conditions: [condition('Ready', 'False', 'upstream unreachable')] }),
    status: 'Degraded',
    message: /upstream unreachable/,
  },
  {
    name: 'not ready while progressing is Progressing with the Progressing message',
    obj: resource(3, {
      observedGeneration: 3,
      conditions: [condition('Ready', 'False', 'not yet'), condition('Progressing', 'True', '5 of 12 mirrored')],
    }),
    status: 'Progressing',
    message: /5 of 12 mirrored/,
  },
  {
    name: 'not ready for an older generation is Progressing, not Degraded',
    obj: resource(4, { observedGeneration: 3, conditions: [condition('Ready', 'False', 'old failure')] }),
    status: 'Progressing',
    message: /observe generation 4/,
  },
  {
    name: 'Ready Unknown is Progressing',
    obj: resource(1, { observedGeneration: 1, conditions: [condition('Ready', 'Unknown')] }),
    status: 'Progressing',
    message: /./,
  },
  {
    name: 'no status yet is Progressing',
    obj: resource(1),
    status: 'Progressing',
    message: /Waiting for the controller/,
  },
  {
    name: 'a ModuleSet ready for the current generation is Healthy',
    obj: resource(2, { observedGeneration: 2, conditions: [condition('Ready', 'True', 'all 3 module versions mirrored')] }, 'ModuleSet'),
    status: 'Healthy',
    message: /all 3 module versions mirrored/,
  },
  {
    name: 'a ModuleSet whose versions failed is Degraded',
    obj: resource(2, {
      observedGeneration: 2,
      conditions: [condition('Ready', 'False', '1/2 module versions mirrored, 1 failed'), condition('Progressing', 'False')],
    }, 'ModuleSet'),
    status: 'Degraded',
    message: /1 failed/,
  },
  {
    name: 'a status without conditions is Progressing',
    obj: resource(1, { observedGeneration: 1 }),
    status: 'Progressing',
    message: /Waiting/,
  },
];
for (const c of cases) {
  test(`Argo CD health: ${c.name}`, (t) => {
    const got = health(c.obj);
    t.is(got.status, c.status);
    t.regex(got.message, c.message);
  });
}

test('argocd-cm embeds health.lua verbatim for every kind', (t) => {
  const cm = parse(readRepoFile('config/argocd/argocd-cm.yaml')) as { data: Record<string, string> };
  t.deepEqual(
    Object.keys(cm.data).sort(),
    CRDS.map((c) => `resource.customizations.health.tfmirror.dev_${c.names.kind}`).sort(),
  );
  for (const [key, embedded] of Object.entries(cm.data)) t.is(embedded, script, key);
});
