import { isRedisUnavailable } from '../../src/infra/redis';
import { toAppError } from '../../src/api/middleware/error-handler';

/** What a request meets while Redis (one server or a cluster in failover) is away: 503 dependency_unavailable, never 500. */
describe('isRedisUnavailable', () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });

  it.each([
    // One server gone.
    ['Connection is closed.'],
    ['connect ECONNREFUSED 127.0.0.1:6379'],
    ["Stream isn't writeable and enableOfflineQueue options is false"],
    // A cluster failing over or moving slots: the replies of its nodes and the client's own words.
    ['CLUSTERDOWN The cluster is down'],
    ['CLUSTERDOWN Hash slot not served'],
    ['TRYAGAIN Multiple keys request during rehashing of slot'],
    ['MOVED 9536 127.0.0.1:7102'],
    ['ASK 9536 127.0.0.1:7102'],
    ['LOADING Redis is loading the dataset in memory'],
    ['Too many Cluster redirections. Last error: Error: Connection is closed.'],
    ['Failed to refresh slots cache.'],
    ['None of startup nodes is available'],
    ["Cluster isn't ready and enableOfflineQueue options is false"],
  ])('When the error says "%s", then it is Redis being unavailable, answered 503', (message) => {
    expect(isRedisUnavailable(new Error(message))).toBe(true);
    expect(toAppError(new Error(message))).toMatchObject({ code: 'dependency_unavailable', status: 503 });
  });

  it('When ioredis gives up on a command or on refreshing the slots, then it is unavailable by the error name too', () => {
    expect(isRedisUnavailable(named('MaxRetriesPerRequestError', 'Reached the max retries per request limit'))).toBe(true);
    expect(isRedisUnavailable(named('ClusterAllFailedError', 'anything'))).toBe(true);
  });

  it('When Redis answers a real error (a wrong type, a bad script, a cross-slot command), then it is not mistaken for an outage', () => {
    for (const message of [
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      "ERR Error running script: user_script:1: Script attempted to access nonexistent global variable 'x'",
      "CROSSSLOT Keys in request don't hash to the same slot",
      'OOM command not allowed when used memory > maxmemory',
      'the word MOVED inside a message',
    ]) {
      expect(isRedisUnavailable(new Error(message))).toBe(false);
    }
    expect(isRedisUnavailable('Connection is closed.')).toBe(false);
  });
});
