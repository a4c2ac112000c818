/**
 * What an adapter knows of the relations of each schema: one catalog query lists a schema (its
 * relations and their kinds), kept and updated as the adapter creates and drops relations, so
 * that asking whether a relation exists costs no query once its schema is listed. A listing under
 * way is shared by the callers that ask meanwhile (`docs generate` asks of every relation at once:
 * 2,000 built models were 2,000 listings of 2,000 rows). DuckDB and Postgres keep one each.
 */
export type RelationKind = 'table' | 'view';

export class RelationCatalog {
  /** schema -> (identifier -> kind), as listed and kept current */
  private readonly known = new Map<string, Map<string, RelationKind>>();
  /** a schema's listing under way */
  private readonly listing = new Map<string, Promise<Map<string, RelationKind>>>();
  /** bumped when what the cache knew is dropped: a listing that started before is not kept */
  private epoch = 0;

  /**
   * The kind of `identifier` in `schema` (null: none), listing the schema with `list` when it is
   * not known yet (the caller's query: inside a transaction, its own connection). Names as the
   * adapter folds them.
   */
  async kind(schema: string, identifier: string, list: () => Promise<Map<string, RelationKind>>): Promise<RelationKind | null> {
    let known = this.known.get(schema);
    if (!known) {
      const epoch = this.epoch;
      let listed = this.listing.get(schema);
      if (!listed) {
        const mine = list();
        listed = mine;
        this.listing.set(schema, mine);
        const done = () => {
          if (this.listing.get(schema) === mine) this.listing.delete(schema);
        };
        mine.then(done, done);
      }
      known = await listed;
      if (epoch === this.epoch) this.known.set(schema, known);
    }
    return known.get(identifier) ?? null;
  }

  /**
   * A relation of `schema` created (`kind`) or gone (null): the listing kept current; with none
   * but one under way, that one is not kept (it may have read the catalog before the change: kept,
   * a table loaded meanwhile was "not built" to every later asker).
   */
  changed(schema: string, identifier: string, kind: RelationKind | null): void {
    const known = this.known.get(schema);
    if (known) {
      if (kind) known.set(identifier, kind);
      else known.delete(identifier);
    } else if (this.listing.has(schema)) this.forget(schema);
  }

  /** Drop what is known of `schema` (of every schema without one), and any listing under way of it. */
  forget(schema?: string): void {
    if (schema === undefined) {
      this.known.clear();
      this.listing.clear();
    } else {
      this.known.delete(schema);
      this.listing.delete(schema);
    }
    this.epoch++;
  }
}
