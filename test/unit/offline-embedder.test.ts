import { OfflineEmbedder } from '../../src/gateway/offline-embedder';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (v: Float32Array) => Math.sqrt(cosine(v, v));

describe('OfflineEmbedder', () => {
  const embedder = new OfflineEmbedder();

  it('When built with defaults, Then it names its model and makes 384-dimensional vectors', async () => {
    expect(embedder.model).toBe('offline-hash-v1');
    expect(embedder.dimensions).toBe(384);
    const [v] = await embedder.embed(['hello world']);
    expect(v).toBeInstanceOf(Float32Array);
    expect(v).toHaveLength(384);
    const [w] = await new OfflineEmbedder({ dimensions: 64 }).embed(['hello world']);
    expect(w).toHaveLength(64);
  });

  it('When dimensions are invalid, Then the constructor refuses them', () => {
    expect(() => new OfflineEmbedder({ dimensions: 0 })).toThrow(RangeError);
    expect(() => new OfflineEmbedder({ dimensions: 1.5 })).toThrow(RangeError);
  });

  it('When embedding the same texts twice or in another instance, Then the vectors are identical', async () => {
    const texts = ['The quick brown fox.', 'Café naïve Straße 東京 😀', 'x'.repeat(5000)];
    const a = await embedder.embed(texts);
    const b = await new OfflineEmbedder().embed([...texts].reverse());
    expect(b.reverse()).toEqual(a);
  });

  it('When embedding texts, Then each vector has unit length and one vector comes per text, in order', async () => {
    const texts = ['one', 'two words', 'Ünïcödé and 中文 text', 'a'.repeat(100_000), '42'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 5);
    expect(vectors[0]).toEqual(embedder.embedOne('one'));
  });

  it('When a text has no words (empty, spaces, punctuation), Then its vector is all zeros, not NaN', async () => {
    for (const v of await embedder.embed(['', '   \n\t', '?!… —'])) {
      expect(v).toHaveLength(384);
      expect(v.every((x) => x === 0)).toBe(true);
    }
  });

  it('When texts share words, Then they are closer than unrelated ones', async () => {
    const [q, similar, paraphrase, unrelated] = await embedder.embed([
      'How do I reset my account password?',
      'To reset your account password, open settings.',
      'Forgot the password to your account? Here is how to change it.',
      'The tomato harvest was late this year because of rain.',
    ]);
    expect(cosine(q, similar)).toBeGreaterThan(cosine(q, unrelated) + 0.2);
    expect(cosine(q, paraphrase)).toBeGreaterThan(cosine(q, unrelated) + 0.1);
    expect(cosine(q, unrelated)).toBeLessThan(0.15);
  });

  it('When words differ only in form or case, Then character n-grams keep them close', async () => {
    const [a, b, c] = await embedder.embed(['Indexing documents', 'indexed document', 'weather forecast']);
    expect(cosine(a, b)).toBeGreaterThan(0.3);
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c) + 0.25);
    const [upper, lower] = await embedder.embed(['ＦＵＬＬＷＩＤＴＨ Text', 'fullwidth text']); // NFKC + lower case
    expect(cosine(upper, lower)).toBeCloseTo(1, 5);
  });

  it('When the signal is aborted, Then embedding stops with its reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(embedder.embed(['a'], { signal: controller.signal })).rejects.toThrow('stop');
  });
});
