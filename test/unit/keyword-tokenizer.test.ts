import { MAX_KEYWORD_TOKEN_LENGTH, keywordString, keywordTokens } from '../../src/core/keywords/keyword-tokenizer';

describe('keywordTokens', () => {
  test('When words differ only in case, then they give the same tokens', () => {
    expect(keywordTokens('Retrieval RETRIEVAL retrieval')).toEqual(['retriev', 'retriev', 'retriev']);
  });

  test('When text uses full case folding cases (ß, final sigma, dotted İ), then they fold like their plain forms', () => {
    expect(keywordTokens('Straße')).toEqual(keywordTokens('STRASSE'));
    expect(keywordTokens('ΛΟΓΟΣ')).toEqual(keywordTokens('λόγος'));
    expect(keywordTokens('İstanbul')).toEqual(['istanbul']);
  });

  test('When a word is written composed, decomposed or without its accent, then all give one token', () => {
    const composed = keywordTokens('caf\u00e9');
    expect(composed).toEqual(keywordTokens('cafe\u0301'));
    expect(composed).toEqual(keywordTokens('cafe'));
  });

  test('When text has compatibility forms (fullwidth, ligatures), then NFKC maps them to plain letters', () => {
    expect(keywordTokens('ＬＡＮＣＥ ﬁle')).toEqual(['lanc', 'file']);
  });

  test('When a script has no accents to fold, then its letters are kept', () => {
    expect(keywordTokens('Привет мир')).toEqual(['привет', 'мир']);
  });

  test('When text holds English stop words, then they are dropped', () => {
    expect(keywordTokens('The cat and the hat are on a mat')).toEqual(['cat', 'hat', 'mat']);
  });

  test('When contractions and possessives are split at the apostrophe, then the fragments are dropped', () => {
    expect(keywordTokens("The user's cache doesn't expire")).toEqual(['user', 'cach', 'expir']);
  });

  test('When words share a stem, then they give the same token', () => {
    const [running, runs, run] = keywordTokens('running runs run');
    expect(running).toBe(run);
    expect(runs).toBe(run);
    expect(keywordTokens('connection connected connecting')).toEqual(['connect', 'connect', 'connect']);
  });

  test('When text holds numbers, then digits are kept and split at punctuation', () => {
    expect(keywordTokens('Version 2024, pi is 3.14 on x86_64 (covid19)')).toEqual([
      'version',
      '2024',
      'pi',
      '3',
      '14',
      'x86',
      '64',
      'covid19',
    ]);
  });

  test('When text mixes punctuation and whitespace, then only letters and digits form tokens', () => {
    expect(keywordTokens('  hello,world!!\n\t--foo/bar  ')).toEqual(['hello', 'world', 'foo', 'bar']);
  });

  test('When text is Chinese or Japanese, then each ideograph or kana is a token', () => {
    expect(keywordTokens('東京タワー')).toEqual(['東', '京', 'タ', 'ワ', 'ー']);
  });

  test('When a token is longer than the limit, then it is dropped', () => {
    const long = 'a'.repeat(MAX_KEYWORD_TOKEN_LENGTH + 1);
    expect(keywordTokens(`short ${long} word`)).toEqual(['short', 'word']);
  });

  test('When text is empty or only stop words and punctuation, then there are no tokens', () => {
    expect(keywordTokens('')).toEqual([]);
    expect(keywordTokens('... the, and; of!')).toEqual([]);
  });

  test('When a stemmed word is seen again, then it stems the same (memoised)', () => {
    const first = keywordTokens('generously generously');
    expect(first).toEqual(['generous', 'generous']);
    expect(keywordTokens('generously')).toEqual(['generous']);
  });
});

describe('keywordString', () => {
  test('When text has tokens, then they are joined by single spaces', () => {
    expect(keywordString('Running, the  QUICK tests!')).toBe('run quick test');
  });
});
