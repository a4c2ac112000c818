/**
 * Formatting numbers for people, shared by commands.
 */

/** 1536 -> '1.50 KiB' */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 2)} ${i === 0 ? 'B' : `${units[i][0]}iB`}`;
}

/** 1 -> '1 row', 1500 -> '1,500 rows' (`many`: the plural when it is not `word` + s). */
export function counted(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

/** `dropped the view that reads it (Postgres' drop ... cascade)`, or `dropped 3 views that read it (...)`: a build's, a load's or the demo's. */
export function droppedViewsPhrase(n: number): string {
  return `dropped ${n === 1 ? 'the view' : `${n} views`} that ${n === 1 ? 'reads' : 'read'} it (Postgres' drop ... cascade)`;
}
