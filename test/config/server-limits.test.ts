import test from 'ava';
import { loadConfig } from '../../server/src/config/load.js';
import { loadError, loadText, removeTempDirs, tempDir } from './helpers.js';

test.after.always(removeTempDirs);

test('server limits and admin_listen are read from the file and the environment', async (t) => {
  const { config } = await loadText('server {\n  header_timeout = "10s"\n  request_timeout = "1m"\n  idle_timeout = "2m"\n  max_connections = 50\n  admin_listen = "127.0.0.1:9090"\n}\n');
  t.like(config.server, { headerTimeout: 10, requestTimeout: 60, idleTimeout: 120, maxConnections: 50, adminListen: '127.0.0.1:9090' });
  const fromEnv = await loadConfig({ env: { TFM_SERVER_IDLE_TIMEOUT: '5', TFM_SERVER_MAX_CONNECTIONS: '7', TFM_SERVER_ADMIN_LISTEN: '0.0.0.0:9090' }, cwd: tempDir() });
  t.like(fromEnv.server, { idleTimeout: 5, maxConnections: 7, adminListen: '0.0.0.0:9090' });
});

const bad = [
  { name: 'a header deadline past the request deadline', text: 'server {\n  header_timeout = "40s"\n  request_timeout = "30s"\n}\n', key: 'server.header_timeout' },
  { name: 'an admin_listen that is not host:port', text: 'server {\n  admin_listen = "9090"\n}\n', key: 'server.admin_listen' },
  { name: 'an admin_listen equal to listen', text: 'server {\n  listen = "0.0.0.0:8080"\n  admin_listen = "0.0.0.0:8080"\n}\n', key: 'server.admin_listen' },
  { name: 'max_connections of 0', text: 'server {\n  max_connections = 0\n}\n', key: 'server.max_connections' },
];
for (const c of bad) {
  test(`config error names the key: ${c.name}`, async (t) => {
    const { err } = await loadError(c.text);
    t.true(err.message.includes(c.key), err.message);
  });
}
