/**
 * The `yaml` package, loaded on first use. Vigil reads YAML with @stoplight/yaml (fast, with
 * positions) and needs `yaml` only for a file that has an error, a tag, a tab or a kept block
 * scalar, and for `--vars`: loading its 260 KB with every command cost ~45 ms of each start.
 * The build keeps `yaml` out of the bundle (scripts/build.mjs), so this require reads it from
 * node_modules (it is a dependency) when asked.
 */
import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');
let lib: YamlLib | undefined;

export function yamlLib(): YamlLib {
  return (lib ??= createRequire(import.meta.url)('yaml') as YamlLib);
}

/**
 * A number past 2^53 written as an integer: reading it rounded it (9007199254740993 reads
 * 9007199254740992), so it is refused, to be quoted. `written`: its digits as written, where
 * the caller has them. The message, else undefined.
 */
export function inexactInteger(v: unknown, written?: string): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || Number.isSafeInteger(v)) return undefined;
  // (a float written as one, 1.0e20, is a float: no integer was rounded; a hex integer's digit e,
  // 0x2E000000000001, is no exponent)
  if (written !== undefined && !/^[-+]?0x/i.test(written) && /[.eE]/.test(written)) return undefined;
  if (!written) return `${v} is past 2^53, where a YAML number is no longer exact (it may have been rounded as it was read): quote it ('${BigInt(v)}' if that is the value)`;
  // (quoted as dbt reads it: 0x2E000000000001 is the int 12947848928690177 to PyYAML, which dbt
  // prints in decimal; quoted as written, '0x2E000000000001' was tested, no value dbt tests)
  const exact = exactIntegerText(written);
  return `${written} is past 2^53, where a YAML number is no longer exact (it is rounded as it is read, to ${v}): quote it ('${exact}')${exact !== written.trim() ? ` — the integer dbt reads ${written} as (PyYAML), printed as dbt prints it` : ''}`;
}

/**
 * The text dbt prints of an integer written `written` (Python's str() of PyYAML's int): its
 * decimal digits, without a sign `+`, `_` or leading zeros, a hex (0x...) or octal (0...) one in
 * decimal. The text as written when PyYAML reads no integer there (0o17 is a string to YAML 1.1).
 */
export function exactIntegerText(written: string): string {
  const t = written.trim();
  const m = /^([-+]?)(0x[0-9a-fA-F_]+|0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*)$/.exec(t);
  if (!m) return t;
  const body = m[2].replace(/_/g, '');
  const n = /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  return `${m[1] === '-' && n !== 0n ? '-' : ''}${n}`;
}

