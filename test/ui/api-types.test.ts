import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { generateUiApi, UI_API_DIR } from '../../hack/gen-ui-api.js';

// The UI's typed client is only as good as these two files: a route added or changed without
// regenerating them would type-check against an API that no longer exists.
test("the UI's OpenAPI document and types match the admin routes (npm run gen:ui-api regenerates them)", async (t) => {
  const { json, types } = await generateUiApi();
  const committedJson = await readFile(path.join(UI_API_DIR, 'openapi.json'), 'utf8');
  const committedTypes = await readFile(path.join(UI_API_DIR, 'schema.d.ts'), 'utf8');
  t.is(committedJson, json, 'server/src/ui/src/api/openapi.json is stale: run npm run gen:ui-api');
  t.is(committedTypes, types, 'server/src/ui/src/api/schema.d.ts is stale: run npm run gen:ui-api');
  const doc = JSON.parse(json) as { paths: Record<string, unknown> };
  t.truthy(doc.paths['/admin/api/auth/login'], 'the document holds the login route');
  t.regex(types, /"\/admin\/api\/providers\/\{id\}": \{/);
});
