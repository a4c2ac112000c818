/**
 * Client-side rate limiting for alert delivery: a sliding-window limiter that spaces calls so that at
 * most `limit` of them start in any `intervalMs` window. Concurrent `acquire()` calls are served in
 * call order (FIFO). One limiter per destination (evaluate.ts, rateKey): PagerDuty allows about 120
 * events per minute per routing key, Slack one message per second per incoming webhook or channel
 * (short bursts tolerated); receivers sharing one share its limiter.
 */

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** PagerDuty Events API v2: per routing key. */
export const PAGERDUTY_RATE = { limit: 120, intervalMs: 60_000 } as const;
/** Slack incoming webhooks: per webhook URL. */
export const SLACK_RATE = { limit: 1, intervalMs: 1_000 } as const;

export class RateLimiter {
  /** Start times of the calls granted in the current window, oldest first (at most `limit`). */
  private readonly granted: number[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly limit: number,
    readonly intervalMs: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`RateLimiter: limit must be a positive integer (got ${limit})`);
    if (!(intervalMs >= 0) || !Number.isFinite(intervalMs)) throw new Error(`RateLimiter: intervalMs must be >= 0 (got ${intervalMs})`);
  }

  /** Resolves when the caller may make its call; callers are served in the order they called. */
  acquire(): Promise<void> {
    const turn = this.tail.then(() => this.take());
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      while (this.granted.length > 0 && this.granted[0] + this.intervalMs <= now) this.granted.shift();
      if (this.granted.length < this.limit) {
        this.granted.push(now);
        return;
      }
      await this.clock.sleep(this.granted[0] + this.intervalMs - now);
    }
  }
}
