/**
 * Loaded into a vigil process with `node --import` (NODE_OPTIONS): at SIGUSR2 its wall clock
 * (Date, Date.now) steps forward by VIGIL_TEST_CLOCK_STEP_MS, while its timers and monotonic
 * clock (setTimeout, performance.now) go on as they were. That is what a suspended VM sees when it
 * resumes (CLOCK_MONOTONIC, which Node's timers run on, does not count the suspend; the wall clock
 * does) and what an NTP step forward looks like.
 */
const RealDate = Date;
const step = Number(process.env.VIGIL_TEST_CLOCK_STEP_MS ?? 0);
let offset = 0;
class SteppedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offset;
  }
  // (a Date made before the step, or by native code, is a Date all the same)
  static [Symbol.hasInstance](x) {
    return x instanceof RealDate;
  }
}
globalThis.Date = SteppedDate;
process.on('SIGUSR2', () => {
  offset += step;
  process.stderr.write(`(test: the wall clock stepped forward ${step} ms)\n`);
});
