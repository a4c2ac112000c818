/**
 * Two first runs creating the compare-and-set table at once on Postgres (the alert state, serve's
 * leases): `create table if not exists` is not atomic there, and the loser used to fail on the
 * catalog's unique index ("duplicate key value violates unique constraint pg_type_typname_nsp_index").
 * Both must come through with one document.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { warehouseCas } from '../../src/run/cas-document.js';
import { uniqueSchema } from '../support/postgres.js';

let a: PostgresAdapter;
let b: PostgresAdapter;
beforeAll(async () => {
  a = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: 'analytics' }, 1);
  b = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: 'analytics' }, 1);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

describe('warehouseCas on Postgres', () => {
  it('two processes initialising the same new table at once both succeed, and one document is kept', async () => {
    for (let i = 0; i < 12; i++) {
      const schema = uniqueSchema('cas_race');
      await a.ensureSchema(schema);
      const [x, y] = await Promise.all([warehouseCas(a, schema, 'doc_state', 'state'), warehouseCas(b, schema, 'doc_state', 'state')]);
      await Promise.all([x.init('{"n":1}'), y.init('{"n":1}')]);
      expect(await x.get()).toEqual({ version: 0, body: '{"n":1}' });
      const rows = await a.query<{ n: number }>(`select count(*)::int as n from "${schema}"."doc_state"`);
      expect(rows).toEqual([{ n: 1 }]);
    }
  });
});
