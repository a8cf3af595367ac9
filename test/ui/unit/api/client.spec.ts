import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../../server/src/ui/src/api/errors';
import { apiOver, fakeServer } from '../fake-server';

describe('admin API client', () => {
  it('sends the session token as a bearer token, and none when signed out', async () => {
    const server = fakeServer({ 'GET /admin/api/auth/me': { body: { kind: 'user', actor: 'user:ada', role: 'admin' } } });
    let token: string | undefined = 'tok-123';
    const api = apiOver(server, { token: () => token, unauthorized: () => {} });
    await api.me();
    token = undefined;
    await api.me();
    expect(server.seen.map((s) => s.authorization)).toEqual(['Bearer tok-123', null]);
  });

  it('puts query and path parameters where the route declares them', async () => {
    const server = fakeServer({
      'GET /admin/api/providers': { body: { items: [], total: 0 } },
      'PATCH /admin/api/providers/7': { body: { id: 7 } },
    });
    const api = apiOver(server, { token: () => 't', unauthorized: () => {} });
    await api.providers({ q: 'aws', status: 'blocked', limit: 25, offset: 50 });
    await api.setProviderStatus(7, 'blocked');
    expect(server.seen[0]!.search).toBe('?q=aws&status=blocked&limit=25&offset=50');
    expect(server.seen[1]!.body).toBe('{"status":"blocked"}');
  });

  it('sends definitions as typed, under their media type, with repeated platform parameters', async () => {
    const server = fakeServer({ 'POST /admin/api/providers/load': { status: 202, body: { jobId: 4, items: 2, problems: [] } } });
    const api = apiOver(server, { token: () => 't', unauthorized: () => {} });
    const text = 'provider "hashicorp/null" {\n  versions = ["3.2.1"]\n}\n';
    const accepted = await api.load(text, 'text/plain', ['linux_amd64', 'darwin_arm64']);
    expect(accepted).toEqual({ jobId: 4, items: 2, problems: [] });
    expect(server.seen[0]).toMatchObject({ body: text, contentType: 'text/plain', search: '?platform=linux_amd64&platform=darwin_arm64' });
  });

  it('asks the dry-run route with the same body and media type as a load', async () => {
    const plan = { items: [{ kind: 'provider', source: 'registry.terraform.io/hashicorp/null', version: '3.2.1', platform: 'linux_amd64' }], problems: [], notices: [] };
    const server = fakeServer({ 'POST /admin/api/providers/load/plan': { body: plan } });
    const api = apiOver(server, { token: () => 't', unauthorized: () => {} });
    expect(await api.planLoad('providers: []', 'application/yaml')).toEqual(plan);
    expect(server.seen[0]).toMatchObject({ body: 'providers: []', contentType: 'application/yaml', search: '' });
  });

  it('maps a JSON error to an ApiError with status, message, line and column', async () => {
    const server = fakeServer({
      'POST /admin/api/providers/load': { status: 400, body: { error: { message: 'versions: expected a list', line: 3, column: 14 } } },
    });
    const api = apiOver(server, { token: () => 't', unauthorized: () => {} });
    const err = await api.load('x', 'text/plain').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, message: 'versions: expected a list', line: 3, column: 14 });
  });

  it('takes the wait from Retry-After on a 429 (seconds or an HTTP date)', async () => {
    const server = fakeServer({
      'POST /admin/api/auth/login': { status: 429, body: { error: { message: 'too many failed sign-ins' } }, headers: { 'Retry-After': '42' } },
      'GET /admin/api/jobs': { status: 503, body: { error: { message: 'busy' } }, headers: { 'Retry-After': new Date(Date.now() + 30_000).toUTCString() } },
    });
    const api = apiOver(server, { token: () => undefined, unauthorized: () => {} });
    const throttled = (await api.login('ada', 'wrong').catch((e: unknown) => e)) as ApiError;
    expect(throttled).toMatchObject({ status: 429, retryAfter: 42, message: 'too many failed sign-ins' });
    const busy = (await api.jobs().catch((e: unknown) => e)) as ApiError;
    expect(busy.retryAfter).toBeGreaterThanOrEqual(28);
    expect(busy.retryAfter).toBeLessThanOrEqual(31);
  });

  it('keeps the status of an answer that is not the API’s JSON (a proxy page) and of a network failure', async () => {
    const server = fakeServer({ 'GET /admin/api/jobs': { status: 502, text: '<html>Bad Gateway</html>', headers: { 'Content-Type': 'text/html' } } });
    const api = apiOver(server, { token: () => 't', unauthorized: () => {} });
    expect(await api.jobs().catch((e: unknown) => e)).toMatchObject({ status: 502, message: expect.stringMatching(/^502/) });
    const offline = apiOver({ seen: [], fetch: () => Promise.reject(new TypeError('fetch failed')) }, { token: () => 't', unauthorized: () => {} });
    expect(await offline.jobs().catch((e: unknown) => e)).toMatchObject({ status: 0, message: expect.stringMatching(/could not be reached/) });
  });

  it('reports a 401 to a sent token as the end of the session, but not a failed sign-in', async () => {
    const server = fakeServer({
      'GET /admin/api/providers': { status: 401, body: { error: { message: 'token expired' } } },
      'POST /admin/api/auth/login': { status: 401, body: { error: { message: 'invalid username or password' } } },
    });
    const unauthorized = vi.fn();
    let token: string | undefined = 'old';
    const api = apiOver(server, { token: () => token, unauthorized });
    await expect(api.providers()).rejects.toMatchObject({ status: 401 });
    expect(unauthorized).toHaveBeenCalledTimes(1);
    token = undefined;
    await expect(api.login('ada', 'nope')).rejects.toMatchObject({ status: 401, message: 'invalid username or password' });
    expect(unauthorized).toHaveBeenCalledTimes(1);
  });
});
