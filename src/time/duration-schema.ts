/**
 * The zod type of every duration in YAML: the grammar of time/duration.ts. Its own module, so
 * that what reads durations at run time (an alert evaluation) loads no zod.
 */
import { z } from 'zod';
import { DURATION_HELP, durationMs } from './duration.js';

export const Duration = z.string().refine((v) => !Number.isNaN(durationMs(v)), { message: `must be ${DURATION_HELP}` });
