/**
 * The `vigil` process: runs the command line (program.ts) once and exits with its code. The test
 * suite's command host (test/support/cli-host.mjs) calls program.ts's main() itself, many times.
 */
import { setFlagsFromString } from 'node:v8';
import { main } from './program.js';
import { flushOutput, withOutputFailure } from './output.js';

// Compiling thousands of models allocates many short-lived strings: a larger young
// generation means far fewer scavenges (measured: GC time roughly halved on 10,000 models).
setFlagsFromString('--max-semi-space-size=32');
const code = await main(process.argv);
// exit once the output is flushed: HTTP keep-alive sockets of cloud clients would otherwise
// hold the process open after the work is done
await flushOutput();
// (a write refused while it was flushed: said, exit 1)
const final = withOutputFailure(code);
if (final !== code) await flushOutput();
process.exit(final);
