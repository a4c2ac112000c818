/**
 * holdsExactly: whether a copy's column (as the warehouse's catalog spells it) holds every value
 * of the type a new copy would give the source's column (as its DDL spells it). A `false` is a
 * warning on every sync run (docs/sync.md: "When the source's columns change").
 */
import { describe, expect, it } from 'vitest';
import { holdsExactly, type TypeVocabulary } from '../../src/sync/sync-types.js';

const duck: TypeVocabulary = { bareTimestamp: 'local' };
const pg: TypeVocabulary = { bareTimestamp: 'local' };
const bq: TypeVocabulary = { bareTimestamp: 'instant', bareNumeric: { int: 29, frac: 9 } };

describe('holdsExactly', () => {
  it("the same type, spelt by the catalog and by the DDL, holds (no warning on every run of an unchanged table)", () => {
    const same: Array<[string, string, TypeVocabulary]> = [
      ['TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ', duck],
      ['TIMESTAMP', 'TIMESTAMP', duck],
      ['FLOAT', 'FLOAT', duck],
      ['DECIMAL(12,4)', 'DECIMAL(12,4)', duck],
      ['INTEGER[]', 'INTEGER[][]', duck],
      ['VARCHAR[]', 'VARCHAR[]', duck],
      ['JSON', 'JSON', duck],
      ['UUID', 'UUID', duck],
      ['BOOLEAN', 'BOOLEAN', duck],
      ['timestamp with time zone', 'timestamp with time zone', pg],
      ['character varying(10)', 'character varying(10)', pg],
      ['integer[]', 'integer[][]', pg],
      ['numeric(10,2)', 'numeric(10,2)', pg],
      ['interval', 'interval', pg],
      ['"char"', '"char"', pg],
      ['NUMERIC(20, 12)', 'NUMERIC(20,12)', bq],
      ['ARRAY<STRING>', 'ARRAY<STRING>', bq],
      ['TIMESTAMP', 'TIMESTAMP', bq],
    ];
    for (const [copy, type, v] of same) expect(holdsExactly(copy, type, v), `${copy} / ${type}`).toBe(true);
  });

  it('a copy that cannot hold the new type exactly: rounded, cut, or refused', () => {
    const lossy: Array<[string, string, TypeVocabulary]> = [
      ['FLOAT', 'DOUBLE', duck],
      ['DATE', 'TIMESTAMP', duck],
      ['DATE', 'TIMESTAMPTZ', duck],
      ['INTEGER', 'BIGINT', duck],
      ['SMALLINT', 'INTEGER', duck],
      ['TIMESTAMP', 'TIMESTAMPTZ', duck],
      ['TIMESTAMP WITH TIME ZONE', 'TIMESTAMP', duck],
      ['DECIMAL(5,2)', 'DECIMAL(12,4)', duck],
      ['DECIMAL(12,4)', 'DECIMAL(12,5)', duck],
      ['DOUBLE', 'VARCHAR', duck],
      ['DOUBLE', 'BIGINT', duck],
      ['INTEGER', 'DECIMAL(10,0)', duck],
      ['BIGINT', 'DOUBLE', duck],
      ['INTEGER[]', 'BIGINT[]', duck],
      ['INTEGER', 'INTEGER[]', duck],
      ['UUID', 'VARCHAR', duck],
      ['real', 'double precision', pg],
      ['character varying(5)', 'text', pg],
      ['character varying(5)', 'character varying(6)', pg],
      ['character(5)', 'character(6)', pg],
      ['jsonb', 'json', pg],
      ['time without time zone', 'time with time zone', pg],
      ['numeric(10,2)', 'numeric', pg],
      ['inet', 'cidr', pg],
      ['NUMERIC', 'BIGNUMERIC(20,12)', bq],
      ['NUMERIC', 'STRING', bq],
      ['DATE', 'DATETIME', bq],
    ];
    for (const [copy, type, v] of lossy) expect(holdsExactly(copy, type, v), `${copy} / ${type}`).toBe(false);
  });

  it('widening the copy already holds is fine: a wider integer, a double for a real, text for anything, a timestamp for a date', () => {
    const fine: Array<[string, string, TypeVocabulary]> = [
      ['BIGINT', 'INTEGER', duck],
      ['INTEGER', 'SMALLINT', duck],
      ['DOUBLE', 'FLOAT', duck],
      ['DOUBLE', 'INTEGER', duck],
      ['DECIMAL(12,4)', 'DECIMAL(5,2)', duck],
      ['DECIMAL(19,0)', 'BIGINT', duck],
      ['BIGINT', 'DECIMAL(18,0)', duck],
      ['TIMESTAMP', 'DATE', duck],
      ['VARCHAR', 'DOUBLE', duck],
      ['VARCHAR', 'TIMESTAMPTZ', duck],
      ['BIGINT[]', 'INTEGER[]', duck],
      ['text', 'character varying(5)', pg],
      ['character varying(10)', 'character varying(5)', pg],
      ['numeric', 'numeric(12,4)', pg],
      ['json', 'jsonb', pg],
      ['double precision', 'real', pg],
      ['NUMERIC', 'NUMERIC(10, 2)', bq],
      ['STRING', 'INT64', bq],
    ];
    for (const [copy, type, v] of fine) expect(holdsExactly(copy, type, v), `${copy} / ${type}`).toBe(true);
  });
});
