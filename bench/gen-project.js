// Generates a synthetic project of N models for the compile and run benchmarks:
// each model has a config block, one or two refs and a macro call.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function generateProject(dir, n, { materialized = 'view', trivial = false } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'models'), { recursive: true });
  mkdirSync(join(dir, 'macros'), { recursive: true });
  writeFileSync(
    join(dir, 'project.yaml'),
    `name: bench\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/benchdb.duckdb\n    schema: bench\n  bq:\n    type: bigquery\n    project: vigil-bench\n    dataset: bench\nvars:\n  factor: 100\n`,
  );
  writeFileSync(join(dir, 'macros', 'money.sql'), `{% macro cents(col) %}cast({{ col }} * {{ var('factor') }} as bigint){% endmacro %}\n`);
  const pad = (i) => String(i).padStart(5, '0');
  for (let i = 0; i < n; i++) {
    const sub = join(dir, 'models', `g${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    let body;
    if (trivial || i === 0) {
      body = `{{ config(materialized='${materialized}', tags=['gen']) }}\nselect ${i} as id, ${i}.5 as v\n`;
    } else {
      const a = Math.floor((i * 7919) % i);
      const b = Math.floor((i * 104729) % i);
      const refs = a === b ? `from {{ ref('m_${pad(a)}') }} as a` : `from {{ ref('m_${pad(a)}') }} as a\njoin {{ ref('m_${pad(b)}') }} as b on a.id = b.id`;
      body = `{{ config(materialized='${materialized}', tags=['gen', 'layer${i % 5}']) }}\n-- generated model ${i}\nselect a.id, {{ cents('a.v') }} as v_cents, a.v\n${refs}\n`;
    }
    writeFileSync(join(sub, `m_${pad(i)}.sql`), body);
  }
}
