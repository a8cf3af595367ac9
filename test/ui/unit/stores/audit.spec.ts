import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setApi } from '../../../../server/src/ui/src/api';
import { AUDIT_PAGE_SIZE, emptyFilters, toQuery, useAudit } from '../../../../server/src/ui/src/stores/audit';
import { apiOver, fakeServer } from '../fake-server';

const entry = (id: number) => ({
  id,
  at: '2026-12-01T10:00:00.000Z',
  actor: 'user:alice',
  action: 'token.create',
  resource: `token:${id}`,
  outcome: 'success',
  ip: '127.0.0.1',
  userAgent: null,
  requestId: null,
  details: { name: 'ci' },
  count: 1,
  lastAt: null,
});

describe('audit store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('leaves empty filters out of the query and trims the others', () => {
    expect(toQuery({ ...emptyFilters(), actor: '  user:alice ', action: 'token.' })).toEqual({ limit: AUDIT_PAGE_SIZE, offset: 0, actor: 'user:alice', action: 'token.' });
  });

  it('sends the time range as UTC instants, reading the form’s local times in the browser’s zone', () => {
    const q = toQuery({ ...emptyFilters(), since: '2026-12-01T09:30', until: '2026-12-01T10:00' });
    expect(q.since).toBe(new Date(2026, 11, 1, 9, 30).toISOString());
    expect(q.until).toBe(new Date(2026, 11, 1, 10, 0).toISOString());
  });

  it('pages with the filters it was given, and a new search starts again at the first page', async () => {
    const server = fakeServer({ 'GET /admin/api/stats/audit': { body: { items: [entry(2), entry(1)], total: 120 } } });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const audit = useAudit();
    audit.filters.resource = 'provider:12';
    audit.filters.outcome = 'failure';
    await audit.fetch(50);
    expect(server.seen.at(-1)!.search).toBe('?limit=50&offset=50&resource=provider%3A12&outcome=failure');
    expect(audit.page?.total).toBe(120);
    await audit.search();
    expect(audit.offset).toBe(0);
    expect(server.seen.at(-1)!.search).toBe('?limit=50&offset=0&resource=provider%3A12&outcome=failure');
    await audit.clear();
    expect(audit.filtered).toBe(false);
    expect(server.seen.at(-1)!.search).toBe('?limit=50&offset=0');
  });

  it('keeps the server’s refusal as the page error (a viewer may not read the audit log)', async () => {
    const server = fakeServer({ 'GET /admin/api/stats/audit': { status: 403, body: { error: { message: 'admins only' } } } });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const audit = useAudit();
    await audit.fetch();
    expect(audit.error).toMatchObject({ status: 403, message: 'admins only' });
    expect(audit.loading).toBe(false);
  });
});
