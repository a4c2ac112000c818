/**
 * Where the CLI writes: stdout for results, stderr for problems, both through the one redaction
 * path. A reader that goes away (`vigil ls | head -5`: EPIPE) only stops the writing: the
 * command finishes what it started and exits with its own status, never with a stack trace.
 */
import { relative } from 'node:path';
import { redact } from '../secrets.js';
import { UsageError } from '../errors.js';

const closed = { stdout: false, stderr: false };
/** A write the system refused (a full disk, a read-only file: not a reader gone away), by stream. */
const failed: { stdout?: string; stderr?: string } = {};

/** A stream that cannot be written any more: the command goes on without it (and, refused, exits 1: outputFailure). */
function broke(name: 'stdout' | 'stderr', e: NodeJS.ErrnoException): void {
  closed[name] = true;
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') failed[name] ??= e.code ? `${e.code}: ${e.message.replace(/^\w+: /, '')}` : e.message;
}

for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
  stream.on('error', (e: NodeJS.ErrnoException) => broke(name, e));
}

/**
 * What the system refused to take of the output (`vigil build > /dev/full`): the command ran to
 * its end, and says it here, on stderr, with an exit code of at least 1 (`code`: the command's),
 * instead of a stack trace half-way. Forgotten once told.
 */
/** Forget a refused write an earlier command of this process left (the test suite's command host runs many). */
export function clearOutputFailure(): void {
  failed.stdout = failed.stderr = undefined;
}

/** What modules keep for one command only (perCommand), forgotten when the next command of this process starts. */
const perCommand = new Set<() => void>();

/** `forget` drops what a module kept for the command that ran: called by startCommand(). */
export function perCommandState(forget: () => void): void {
  perCommand.add(forget);
}

/** A command starts (main()): nothing an earlier command of this process left is kept. */
export function startCommand(): void {
  clearOutputFailure();
  for (const forget of perCommand) forget();
}

export function withOutputFailure(code: number): number {
  const f = failed.stdout ? `could not write the output (stdout): ${failed.stdout}` : failed.stderr ? `could not write to stderr: ${failed.stderr}` : undefined;
  clearOutputFailure();
  if (!f) return code;
  err(`error: ${f}`);
  return Math.max(code, 1);
}

/**
 * The value of path flag `flag` as given; a UsageError when it is empty or only spaces, which
 * would silently be the working folder (`resolve(cwd, '')` is cwd) or the flag's default — an
 * unset variable (`--out "$SITE"`) writing into the project's root.
 */
export function pathFlag(flag: string, value: string, kind: 'folder' | 'file' = 'file'): string {
  return filledFlag(flag, value, `a path${kind === 'folder' ? " ('.' for the working folder)" : ''}`);
}

/** The value of flag `flag` as given; a UsageError saying to give `what` when it is empty or only spaces. */
export function filledFlag(flag: string, value: string, what: string): string {
  if (!value.trim()) throw new UsageError(`${flag} is ${value ? 'only spaces' : 'empty'}: give ${what}`);
  return value;
}

/** A path as a message shows it: relative to the working folder when it is inside it, else absolute. */
export function shownPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') ? rel : abs;
}

/** A line to stdout or stderr, redacted (a file as the stream is written synchronously: a refused write throws here). */
function writeLine(name: 'stdout' | 'stderr', s: string): void {
  if (closed[name]) return;
  try {
    process[name].write(redact(s) + '\n');
  } catch (e) {
    broke(name, e as NodeJS.ErrnoException);
  }
}
export const out = (s: string): void => writeLine('stdout', s);
export const err = (s: string): void => writeLine('stderr', s);

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
