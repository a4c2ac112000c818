/** The LookML parser the export tests read generated LookML with (it ships no types). */
declare module 'lookml-parser' {
  /** Parses one LookML file (views, models, explores); throws on a syntax error. */
  export function parse(text: string): Record<string, any>;
  const lookml: { parse: typeof parse };
  export default lookml;
}
