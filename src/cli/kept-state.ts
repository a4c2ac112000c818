/**
 * The --state manifest a command's compile kept before overwriting it (selection.ts
 * keepStateBeforeCompile), by path: one command's only. main() forgets it when a command starts
 * (the test suite's command host runs many in one process; a later command reads the file anew).
 * No imports: program.ts loads it on every start.
 */
export const keptState = new Map<string, { manifest?: unknown; error?: unknown }>();

export function forgetKeptState(): void {
  keptState.clear();
}
