/**
 * SIGTERM / Ctrl-C for the commands that work in committed batches (`vigil sync`, `vigil
 * retention apply`): the first signal lets the batch in progress commit and starts nothing
 * further (`signal` aborts); a second one exits at once (the warehouse rolls the batch back).
 * `exitCode()` is 143 or 130 after a signal, as a process killed by it would report.
 */
export interface BatchStop {
  readonly signal: AbortSignal;
  /** The signal that stopped the command, if any. */
  signalled(): NodeJS.Signals | undefined;
  exitCode(): number | undefined;
  /** Stop listening (call when the batches are over). */
  dispose(): void;
}

export function stopBetweenBatches(err: (message: string) => void): BatchStop {
  const stop = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const code = (sig: NodeJS.Signals) => (sig === 'SIGINT' ? 130 : 143);
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(code(sig));
    signalled = sig;
    stop.abort();
    err(`\n${sig}: stopping after the batch in progress commits (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to stop at once; the warehouse rolls the batch back)`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: stop.signal,
    signalled: () => signalled,
    exitCode: () => (signalled ? code(signalled) : undefined),
    dispose() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
