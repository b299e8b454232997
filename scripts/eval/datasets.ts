/**
 * Retrieval datasets, read in memory from their published files (never copied into the repo):
 * a BEIR directory (corpus.jsonl, queries.jsonl, qrels/test.tsv) or a SQuAD v1.1 JSON file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface CorpusDoc {
  id: string;
  title?: string;
  text: string;
}

export interface EvalQuery {
  id: string;
  text: string;
  /** corpus id -> graded relevance; only grades > 0 are kept. */
  qrels: Map<string, number>;
}

export interface Dataset {
  name: string;
  format: 'beir' | 'squad';
  corpus: CorpusDoc[];
  queries: EvalQuery[];
}

/** `split` names the BEIR qrels file (`test`, `train`, `dev`); SQuAD files have one split. */
export async function loadDataset(location: string, split = 'test'): Promise<Dataset> {
  const stat = await fs.stat(location);
  if (stat.isDirectory()) return loadBeir(location, split);
  if (location.endsWith('.json')) return loadSquad(location);
  throw new Error(`${location}: expected a BEIR directory or a SQuAD .json file`);
}

const readJsonl = async (file: string) =>
  (await fs.readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** The split's queries in the order qrels/<split>.tsv first names them; a query without a grade > 0 has nothing to find and is left out. */
export async function loadBeir(dir: string, split = 'test'): Promise<Dataset> {
  const corpus = (await readJsonl(path.join(dir, 'corpus.jsonl'))).map((d) => ({
    id: String(d._id),
    title: typeof d.title === 'string' && d.title.trim() ? d.title : undefined,
    text: String(d.text ?? ''),
  }));
  const texts = new Map((await readJsonl(path.join(dir, 'queries.jsonl'))).map((q) => [String(q._id), String(q.text)]));
  const qrels = new Map<string, Map<string, number>>();
  const lines = (await fs.readFile(path.join(dir, 'qrels', `${split}.tsv`), 'utf8')).split('\n').slice(1); // header line
  for (const line of lines) {
    if (!line.trim()) continue;
    const [queryId, corpusId, score] = line.split('\t');
    if (!qrels.has(queryId)) qrels.set(queryId, new Map());
    if (Number(score) > 0) qrels.get(queryId)!.set(corpusId, Number(score));
  }
  const queries: EvalQuery[] = [];
  for (const [id, judged] of qrels) {
    const text = texts.get(id);
    if (text === undefined) throw new Error(`${dir}: qrels name query ${id}, which queries.jsonl does not hold`);
    if (judged.size > 0) queries.push({ id, text, qrels: judged });
  }
  return { name: path.basename(path.resolve(dir)), format: 'beir', corpus, queries };
}

interface SquadFile {
  data: Array<{ title: string; paragraphs: Array<{ context: string; qas: Array<{ id: string; question: string }> }> }>;
}

/** Every paragraph is a document (id "article-paragraph"), every question a query whose one relevant document is its paragraph. */
export async function loadSquad(file: string): Promise<Dataset> {
  const squad = JSON.parse(await fs.readFile(file, 'utf8')) as SquadFile;
  if (!Array.isArray(squad.data)) throw new Error(`${file}: not SQuAD format (no data[])`);
  const corpus: CorpusDoc[] = [];
  const queries: EvalQuery[] = [];
  squad.data.forEach((article, a) => {
    article.paragraphs.forEach((p, i) => {
      const id = `${a}-${i}`;
      // Titles are Wikipedia page names ("Super_Bowl_50").
      corpus.push({ id, title: article.title.replace(/_/g, ' '), text: p.context });
      for (const qa of p.qas) queries.push({ id: qa.id, text: qa.question, qrels: new Map([[id, 1]]) });
    });
  });
  return { name: path.basename(file, '.json'), format: 'squad', corpus, queries };
}

/**
 * A small slice for CI: the first `limitQueries` queries, and a corpus of their relevant documents plus the first
 * other documents in file order up to `limitCorpus` in all (more when the relevant ones alone exceed it).
 */
export function sliceDataset(ds: Dataset, limitQueries = Infinity, limitCorpus = Infinity): Dataset {
  const queries = ds.queries.slice(0, limitQueries);
  if (!Number.isFinite(limitCorpus)) return { ...ds, queries };
  const inCorpus = new Set(ds.corpus.map((d) => d.id));
  const keep = new Set(queries.flatMap((q) => [...q.qrels.keys()]).filter((id) => inCorpus.has(id)));
  for (const d of ds.corpus) {
    if (keep.size >= limitCorpus) break;
    keep.add(d.id);
  }
  return { ...ds, queries, corpus: ds.corpus.filter((d) => keep.has(d.id)) };
}
