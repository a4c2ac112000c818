/**
 * The `type: postgres` target config: connection URL (usually from env_var), schema, pool
 * size, SSL and statement timeout.
 */
import { z } from 'zod';
import { didYouMean } from '../../errors.js';

/**
 * What the driver (pg-connection-string) reads as a connection: a postgres:// or postgresql://
 * URL, `socket:` or a socket directory. Anything else it reads wrongly without a word
 * ("postgress://..." connects to its host under another scheme; "localhost:5432/db" or
 * "host=x dbname=y" fall back to localhost:5432), so it is refused here. The message never
 * repeats the url: it holds the password.
 */
export function urlProblem(url: string): string | undefined {
  if (url.startsWith('/')) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  // (written so that redact() does not take it for a url with a password)
  const form = 'postgres://HOST:5432/DATABASE, with USER:PASSWORD@ before HOST';
  if (/^\s*\w+\s*=/.test(url)) return `url is a keyword/value connection string, which the driver does not read: write it as a URL, ${form}`;
  if (!scheme || !/^\/\//.test(url.slice(scheme.length + 1))) {
    if (scheme === 'socket') return undefined;
    return `url is not a connection URL (no postgres:// in front): write it as ${form}`;
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    const hint = didYouMean(scheme, ['postgres', 'postgresql']);
    return `url has the scheme '${scheme}://'${hint ? ` (did you mean '${hint}://'?)` : ''}; a Postgres target takes ${form}`;
  }
  // as the driver parses it: spaces and stray % encoded first, an empty host (the socket) allowed
  const text = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url) ? encodeURI(url).replace(/%25(\d\d)/g, '%$1') : url;
  try {
    new URL(text.replace('@/', '@___DUMMY___/'));
  } catch {
    return 'url is not a valid URL: characters like # / ? : in the user or password must be percent-encoded (# as %23), and the port must be a number';
  }
  return undefined;
}

export const postgresConfigSchema = z
  .object({
    type: z.literal('postgres'),
    /** postgres://user:password@host:5432/db — usually "{{ env_var('DATABASE_URL') }}" */
    url: z
      .string()
      .min(1, 'url is empty (is the environment variable set?)')
      .superRefine((u, ctx) => {
        const problem = u ? urlProblem(u) : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    // (an empty schema failed at `create schema ""`, exit 1)
    schema: z
      .string()
      .refine((s) => s.trim() !== '', 'is empty: name the schema the models go to (is the environment variable set?)')
      .default('analytics'),
    pool_size: z.number().int().positive().max(64).optional(),
    ssl: z.union([z.boolean(), z.object({ reject_unauthorized: z.boolean().optional(), ca: z.string().optional() }).strict()]).optional(),
    statement_timeout_ms: z.number().int().positive().optional(),
    application_name: z.string().optional(),
  })
  .strict();

export type PostgresTargetConfig = z.infer<typeof postgresConfigSchema>;
