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
