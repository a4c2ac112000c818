/**
 * An unused TCP port on 127.0.0.1, for a local server another process starts on it (the ZetaSQL
 * analyzer; in the tests, PostgreSQL and Alertmanager). There is a small race until that process
 * binds it: callers retry or wait for it to answer.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}
