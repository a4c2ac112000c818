/**
 * The run's shared headless Chromium (./chromium-global-setup.ts). `close()` on the returned
 * browser closes the contexts and pages this connection opened and disconnects; the browser
 * itself stays up for the other test files.
 */
import { inject } from 'vitest';
import type { Browser } from 'playwright-core';

export async function sharedBrowser(): Promise<Browser> {
  const ws = inject('chromiumWs');
  if (!ws) throw new Error('no shared Chromium in this run (tests that need one must skip when findChromium() finds none)');
  const { chromium } = await import('playwright-core');
  return chromium.connect(ws);
}
