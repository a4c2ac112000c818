/**
 * The zod type of every duration in YAML: the grammar of time/duration.ts. Its own module, so
 * that what reads durations at run time (an alert evaluation) loads no zod.
 */
import { z } from 'zod';
import { DURATION_HELP, durationProblem } from './duration.js';

// (a bare number, `keep_firing_for: 0`, is not a duration: said with the grammar, not as a type)
export const Duration = z.string({ error: (iss) => (typeof iss.input === 'number' ? `must be ${DURATION_HELP}: a number needs its unit (${iss.input}s, ${iss.input}m...)` : undefined) }).superRefine((v, ctx) => {
  const problem = durationProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
