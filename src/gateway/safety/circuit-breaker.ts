import type { RedisClient } from '../../infra/redis';
import { modelKey, type Clock } from './keys';
import { clockOf } from './options';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  failureThreshold?: number;
  /** Optionally also open after `windowFailures` failures (consecutive or not) within `windowMs`. */
  windowFailures?: number;
  windowMs?: number;
  /** How long the breaker stays open before one trial call is let through. Default 30 s. */
  coolDownMs?: number;
  /**
   * How long a half-open trial may run before another caller may trial instead (covers a process that died
   * mid-trial without recording an outcome). Default 30 s.
   */
  trialTimeoutMs?: number;
  now?: Clock;
}

export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_COOL_DOWN_MS = 30_000;
export const DEFAULT_TRIAL_TIMEOUT_MS = 30_000;
// Breaker state that nobody touched for a day is dropped; a missing breaker is closed.
const STATE_TTL_MS = 86_400_000;

/**
 * Decides whether this caller may call now, and if the breaker is due for a trial, claims that trial atomically.
 * KEYS: state hash. ARGV: now, trialTimeoutMs, ttlMs. Returns {allowed 0|1, state}.
 */
const CAN_CALL = `
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'state', 'until')
local state = h[1] or 'closed'
local untilMs = tonumber(h[2]) or 0
if state == 'closed' then return { 1, 'closed' } end
if now < untilMs then return { 0, state } end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'until', tostring(now + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return { 1, 'half_open' }
`;

/**
 * KEYS: state hash, failure-times sorted set. ARGV: now, threshold, windowFailures (0 = off), windowMs, coolDownMs,
 * ttlMs, unique member. Returns the new state.
 */
const RECORD_FAILURE = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[6])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local open = false
if state == 'half_open' then
  open = true
elseif state == 'closed' then
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if failures >= tonumber(ARGV[2]) then open = true end
  local wf = tonumber(ARGV[3])
  if wf > 0 then
    local windowMs = tonumber(ARGV[4])
    redis.call('ZADD', KEYS[2], now, ARGV[7])
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - windowMs)
    redis.call('PEXPIRE', KEYS[2], windowMs)
    if redis.call('ZCARD', KEYS[2]) >= wf then open = true end
  end
else
  return state
end
if open then
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', tostring(now + tonumber(ARGV[5])), 'failures', 0)
  redis.call('DEL', KEYS[2])
  state = 'open'
end
redis.call('PEXPIRE', KEYS[1], ttl)
return state
`;

/**
 * Per-model circuit breaker shared by every process on one Redis: closed -> open after `failureThreshold`
 * consecutive failures (or `windowFailures` within `windowMs`) -> after `coolDownMs`, half-open: exactly one caller
 * (across all processes) gets `true` from `canCall` and makes the trial -> its success closes, its failure re-opens.
 *
 * Only record failures that say the provider is unwell: retryable ones (429, 5xx, timeouts, connection errors).
 * A 400 for a bad request is the caller's fault and must not be recorded (neither as failure nor as success).
 * A success recorded while closed resets the consecutive-failure count.
 */
export class CircuitBreaker {
  private readonly now: Clock;
  private readonly threshold: number;
  private readonly windowFailures: number;
  private readonly windowMs: number;
  private readonly coolDownMs: number;
  private readonly trialTimeoutMs: number;
  private seq = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: CircuitBreakerOptions = {},
  ) {
    this.now = clockOf(options);
    this.threshold = options.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
    this.windowFailures = options.windowFailures ?? 0;
    this.windowMs = options.windowMs ?? 60_000;
    this.coolDownMs = options.coolDownMs ?? DEFAULT_COOL_DOWN_MS;
    this.trialTimeoutMs = options.trialTimeoutMs ?? DEFAULT_TRIAL_TIMEOUT_MS;
    if (!(this.threshold >= 1)) throw new Error('failureThreshold must be at least 1');
    if (this.windowFailures < 0 || (this.windowFailures > 0 && !(this.windowMs > 0)))
      throw new Error('windowFailures needs a positive windowMs');
  }

  private stateKey(model: string) {
    return modelKey(this.prefix, model, 'cb');
  }
  private failuresKey(model: string) {
    return modelKey(this.prefix, model, 'cb', 'failures');
  }

  /** True if the caller may call the model now. In half-open, true for the one caller that claimed the trial. */
  async canCall(model: string): Promise<boolean> {
    const [allowed] = (await this.redis.eval(CAN_CALL, 1, this.stateKey(model), this.now(), this.trialTimeoutMs, STATE_TTL_MS)) as [
      number,
      string,
    ];
    return allowed === 1;
  }

  /** The current state, read-only (does not claim a trial). An open breaker past its cool-down reads as half_open. */
  async state(model: string): Promise<{ state: BreakerState; failures: number; untilMs?: number }> {
    const [state, until, failures] = await this.redis.hmget(this.stateKey(model), 'state', 'until', 'failures');
    const s = (state ?? 'closed') as BreakerState;
    const untilMs = until ? Number(until) : undefined;
    if (s === 'open' && untilMs !== undefined && this.now() >= untilMs) return { state: 'half_open', failures: 0, untilMs };
    return { state: s, failures: Number(failures ?? 0), ...(s === 'closed' ? {} : { untilMs }) };
  }

  async recordSuccess(model: string): Promise<void> {
    await this.redis.del(this.stateKey(model), this.failuresKey(model));
  }

  /** Call only for retryable failures (see the class comment). Returns the state after recording. */
  async recordFailure(model: string): Promise<BreakerState> {
    const member = `${this.now()}:${process.pid}:${++this.seq}:${Math.random().toString(36).slice(2)}`;
    return (await this.redis.eval(
      RECORD_FAILURE,
      2,
      this.stateKey(model),
      this.failuresKey(model),
      this.now(),
      this.threshold,
      this.windowFailures,
      this.windowMs,
      this.coolDownMs,
      STATE_TTL_MS,
      member,
    )) as BreakerState;
  }
}
