/**
 * Where the CLI writes: stdout for results, stderr for problems, both through the one redaction
 * path. A reader that goes away (`vigil ls | head -5`: EPIPE) only stops the writing: the
 * command finishes what it started and exits with its own status, never with a stack trace.
 */
import { relative } from 'node:path';
import { redact } from '../secrets.js';

const closed = { stdout: false, stderr: false };

for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') closed[name] = true;
    else throw e;
  });
}

/** A path as a message shows it: relative to the working folder when it is inside it, else absolute. */
export function shownPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') ? rel : abs;
}

export const out = (s: string): void => {
  if (!closed.stdout) process.stdout.write(redact(s) + '\n');
};
export const err = (s: string): void => {
  if (!closed.stderr) process.stderr.write(redact(s) + '\n');
};

/** Wait until what was written is handed to the OS (not for a reader that went away). */
export async function flushOutput(): Promise<void> {
  for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
    if (closed[name] || stream.destroyed) continue;
    await new Promise<void>((resolve) => {
      stream.write('', () => resolve());
      // a pipe that closes while we wait answers with an error, not the callback
      stream.once('error', () => resolve());
    });
  }
}
