import { ZodError } from 'zod';
import { AppError, mayPassOnRetry } from '../../src/errors';

describe('When a job fails, whether it may pass on a retry', () => {
  it('then an AppError answers for itself, from the catalogue or its override', () => {
    expect(mayPassOnRetry(new AppError('dependency_unavailable', 'down'))).toBe(true);
    expect(mayPassOnRetry(new AppError('pdf_invalid', 'corrupt'))).toBe(false);
    expect(mayPassOnRetry(new AppError('vector_store_error', 'flaky', undefined, { retryable: true }))).toBe(true);
  });

  it('then bugs and bad data fail at once', () => {
    expect(mayPassOnRetry(new TypeError('x is not a function'))).toBe(false);
    expect(mayPassOnRetry(new RangeError('Invalid array length'))).toBe(false);
    expect(mayPassOnRetry(new ReferenceError('y is not defined'))).toBe(false);
    expect(mayPassOnRetry(new SyntaxError('Unexpected token'))).toBe(false);
    expect(mayPassOnRetry(new ZodError([]))).toBe(false);
  });

  it('then the network, timeouts and busy resources are retried', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'EMFILE']) {
      expect(mayPassOnRetry(Object.assign(new Error(code), { code }))).toBe(true);
    }
    expect(mayPassOnRetry(new DOMException('The operation timed out', 'TimeoutError'))).toBe(true);
    // fetch reports a refused connection as a TypeError whose cause has the code.
    expect(
      mayPassOnRetry(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })),
    ).toBe(true);
  });

  it('then an error of a kind not known either way (a dependency’s own class) is retried within the job’s attempts', () => {
    expect(mayPassOnRetry(new Error('Connection is closed.'))).toBe(true);
    expect(mayPassOnRetry('a thrown string')).toBe(true);
  });
});
