// The same generated DAG as gen-project.js, as a Dataform project (definitions/*.sqlx, a JS
// include for the macro, vars in workflow_settings.yaml), for `dataform compile --json` side by
// side with `vigil compile`. Dataform is not a dependency of Vigil: install it anywhere, e.g.
//   npm i --prefix /tmp/df @dataform/cli@3.0.69 @dataform/core@3.0.62
// and run the bench with DATAFORM_DIR=/tmp/df.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function dataformBin(dir) {
  const bin = join(dir, 'node_modules', '.bin', 'dataform');
  return existsSync(bin) ? bin : undefined;
}

export function generateDataformProject(dir, n, dataformDir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  mkdirSync(join(dir, 'includes'), { recursive: true });
  writeFileSync(join(dir, 'workflow_settings.yaml'), 'defaultProject: vigil-bench\ndefaultDataset: bench\ndefaultLocation: US\nvars:\n  factor: "100"\n');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', dependencies: { '@dataform/core': '3.0.62' } }));
  // @dataform/core inside the project (Dataform's sandbox does not follow a symlink out of it)
  cpSync(join(dataformDir, 'node_modules', '@dataform', 'core'), join(dir, 'node_modules', '@dataform', 'core'), { recursive: true });
  writeFileSync(join(dir, 'includes', 'money.js'), 'function cents(col) { return `cast(${col} * ${dataform.projectConfig.vars.factor} as bigint)`; }\nmodule.exports = { cents };\n');
  const pad = (i) => String(i).padStart(5, '0');
  for (let i = 0; i < n; i++) {
    const sub = join(dir, 'definitions', `g${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    let body;
    if (i === 0) {
      body = `config { type: "view", tags: ["gen"] }\nselect ${i} as id, ${i}.5 as v\n`;
    } else {
      const a = Math.floor((i * 7919) % i);
      const b = Math.floor((i * 104729) % i);
      const refs = a === b ? `from \${ref('m_${pad(a)}')} as a` : `from \${ref('m_${pad(a)}')} as a\njoin \${ref('m_${pad(b)}')} as b on a.id = b.id`;
      body = `config { type: "view", tags: ["gen", "layer${i % 5}"] }\n-- generated model ${i}\nselect a.id, \${money.cents('a.v')} as v_cents, a.v\n${refs}\n`;
    }
    writeFileSync(join(sub, `m_${pad(i)}.sqlx`), body);
  }
}
