/**
 * A disk that fills while a file is written (ENOSPC from write(), which names no path): the error
 * names the file Vigil was writing, and the command ends with one line and exit 1 (was: "internal
 * error", a stack trace and exit 3 once a build's run_results.json met a full disk).
 */
import { describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { writeProjectFile } from '../../src/project/artifacts.js';
import { reportError } from '../../src/cli/program.js';

describe('a write the disk refuses', () => {
  it.runIf(existsSync('/dev/full'))('names the file it was writing (/dev/full: every write is ENOSPC)', () => {
    let caught: NodeJS.ErrnoException | undefined;
    try {
      writeProjectFile('/dev/full', 'x'.repeat(100_000), { atomic: false, mkdir: false });
    } catch (e) {
      caught = e as NodeJS.ErrnoException;
    }
    expect(caught?.code).toBe('ENOSPC');
    expect(caught?.path).toBe('/dev/full');
  });

  it('is one line and exit 1, with or without a path', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    try {
      const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      expect(reportError(full)).toBe(1);
      expect(reportError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/p/target/run_results.json' }))).toBe(1);
    } finally {
      spy.mockRestore();
    }
    const text = lines.join('');
    expect(text).toContain('cannot write: no space left on the device (ENOSPC)');
    expect(text).toMatch(/cannot write \S*run_results\.json: no space left on the device \(ENOSPC\)/);
    expect(text).not.toMatch(/internal error|\n\s+at /);
  });
});
