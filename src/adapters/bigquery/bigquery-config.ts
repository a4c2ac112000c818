/**
 * The `type: bigquery` target config: project, dataset, location, credentials (a key file
 * path, the key JSON itself, or application default credentials when empty), job settings.
 */
import type { z } from 'zod';
import { BigQueryTargetSchema } from '../../project/schema.js';

export type BigQueryTargetConfig = z.infer<typeof BigQueryTargetSchema>;
