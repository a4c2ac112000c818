/**
 * Vitest setup file, run before every test file: what a file changes in `process.env` (and so in
 * the environment of every `vigil` process it starts) is undone when the file ends. Test files
 * share worker processes (`isolate: false` in vitest.config.ts), so without this a variable one
 * file sets (e.g. DATABASE_URL) would reach the files that run after it in the same worker. The
 * secrets Vigil learned in process (compiled env_var() values) are forgotten too.
 */
import { afterAll } from 'vitest';
import { resetSecrets } from '../../src/secrets.js';

const saved = { ...process.env };

afterAll(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  resetSecrets();
});
