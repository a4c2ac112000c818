/**
 * The zod type of every duration in YAML: the grammar of time/duration.ts. Its own module, so
 * that what reads durations at run time (an alert evaluation) loads no zod.
 */
import { z } from 'zod';
import { durationProblem } from './duration.js';

export const Duration = z.string().superRefine((v, ctx) => {
  const problem = durationProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
