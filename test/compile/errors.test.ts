/** Diagnostics formatting, did-you-mean and secret redaction. */
import { describe, expect, it } from 'vitest';
import { didYouMean, formatDiagnostic } from '../../src/errors.js';
import { redact } from '../../src/secrets.js';

describe('errors', () => {
  it('formats a diagnostic as file:line:col: severity: message [CODE]', () => {
    expect(formatDiagnostic({ severity: 'error', code: 'E_REF', message: 'boom', file: 'models/a.sql', line: 3, column: 7, hint: 'fix it' })).toBe('models/a.sql:3:7: error: boom [E_REF]\n  hint: fix it');
    expect(formatDiagnostic({ severity: 'warn', code: 'W', message: 'm' })).toBe('warning: m [W]');
  });
  it('suggests close names only', () => {
    expect(didYouMean('ai_audit_dayly', ['ai_audit_daily', 'stg_ai_audit_logs'])).toBe('ai_audit_daily');
    expect(didYouMean('zzz', ['ai_audit_daily'])).toBeUndefined();
  });
  it('redacts secret env values and URL passwords', () => {
    const env = { PAGERDUTY_ROUTING_KEY: 'R0UT1NGKEY123', HOME: '/root/home-dir' };
    expect(redact('key=R0UT1NGKEY123 home=/root/home-dir', env)).toBe('key=<redacted:PAGERDUTY_ROUTING_KEY> home=/root/home-dir');
    expect(redact('postgres://vigil:s3cret@localhost:5432/db', env)).toBe('postgres://vigil:***@localhost:5432/db');
  });
});
