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
