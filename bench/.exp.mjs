import { DuckDBInstance } from '@duckdb/node-api';
const csv = 'bench/.work/seed/seeds/orders.csv';
for (const mode of ['typed', 'staged', 'typed', 'staged']) {
  const i = await DuckDBInstance.create(`/tmp/exp-${mode}.duckdb`); const c = await i.connect();
  await c.run('drop table if exists t'); await c.run('drop table if exists s');
  const t0 = performance.now();
  if (mode === 'typed') {
    await c.run(`create table t as select * from read_csv('${csv}', header=true, auto_detect=false, columns={'order_id':'BIGINT','customer':'VARCHAR','amount':'DOUBLE','paid':'BOOLEAN','order_date':'DATE','placed_at':'TIMESTAMPTZ','note':'VARCHAR'}, quote='"', escape='"')`);
  } else {
    await c.run(`create temp table s as select * from read_csv('${csv}', header=true, auto_detect=false, columns={'order_id':'VARCHAR','customer':'VARCHAR','amount':'VARCHAR','paid':'VARCHAR','order_date':'VARCHAR','placed_at':'VARCHAR','note':'VARCHAR'}, quote='"', escape='"')`);
    const t1 = performance.now();
    await c.run(`create table t as select order_id::BIGINT order_id, customer, amount::DOUBLE amount, paid::BOOLEAN paid, order_date::DATE order_date, placed_at::TIMESTAMPTZ placed_at, note from s`);
    console.log('  stage', (t1 - t0).toFixed(0), 'cast', (performance.now() - t1).toFixed(0));
  }
  const t2 = performance.now();
  c.closeSync(); i.closeSync();
  console.log(mode, (t2 - t0).toFixed(0), 'close', (performance.now() - t2).toFixed(0));
}
