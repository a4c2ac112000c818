/**
 * A BI tool reading a DuckDB file: another process that opens it read-only (DuckDB lets several
 * such processes have it open at once, but none that writes it) and keeps it until killed.
 * Resolves once it holds the file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function readDuckDbReadOnly(file: string): Promise<ChildProcess> {
  const reader = spawn(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; const db = await DuckDBInstance.create(${JSON.stringify(file)}, { access_mode: 'READ_ONLY' }); await (await db.connect()).run('select 1'); console.log('reading'); setInterval(() => db, 1000);`], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  reader.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const reading = await new Promise<boolean>((r) => {
    reader.stdout!.once('data', () => r(true));
    reader.once('exit', () => r(false));
  });
  if (!reading) throw new Error(`the read-only reader could not open ${file}: ${stderr}`);
  return reader;
}

/**
 * Another process holding a DuckDB file (a `vigil build` from cron, a BI tool): a real process
 * that opens it to write and keeps it until killed. Resolves once it holds the file; one that
 * could not (a scheduler or serve had it open that moment) is started again.
 */
export async function holdDuckDb(file: string): Promise<ChildProcess> {
  for (;;) {
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; const db = await DuckDBInstance.create(${JSON.stringify(file)}); console.log('held'); setInterval(() => db, 1000);`], { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] });
    const held = await new Promise<boolean>((r) => {
      holder.stdout!.once('data', () => r(true));
      holder.once('exit', () => r(false));
    });
    if (held) return holder;
    await new Promise((r) => setTimeout(r, 300));
  }
}
