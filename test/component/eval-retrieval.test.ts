import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exitOf, ROOT } from '../support/spawn-entry';

const SCIFACT = path.resolve(ROOT, '../shared/data/scifact');

async function runSlice(extra: string[]) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ragmem-eval-retrieval-test-'));
  const out = path.join(dir, 'report.json');
  // `node --import tsx` as spawnEntry does (one process, no tsx wrapper), with the script's own arguments.
  const args = [
    '--dataset',
    SCIFACT,
    '--limit-queries',
    '10',
    '--limit-corpus',
    '120',
    '--modes',
    'hybrid,dense,keyword',
    '--out',
    out,
    ...extra,
  ];
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/eval-retrieval.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, LANCEDB_LOG: 'error', REDIS_URL: process.env.REDIS_URL! },
  });
  let output = '';
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  try {
    const code = await exitOf(child);
    if (code !== 0) throw new Error(`exit ${code}:\n${output}`);
    return JSON.parse(await fs.readFile(out, 'utf8'));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function expectCompleteReport(report: any) {
  expect(report.queries).toBe(10);
  expect(report.corpusDocuments).toBe(120);
  expect(report.ingestion.documents).toBe(120);
  expect(report.results.map((r: { mode: string }) => r.mode)).toEqual(['hybrid', 'dense', 'keyword']);
  for (const r of report.results) {
    expect(r.perQuery).toHaveLength(10);
    for (const [name, value] of Object.entries(r.metrics)) {
      expect({ mode: r.mode, name, finite: Number.isFinite(value) }).toEqual({ mode: r.mode, name, finite: true });
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
  }
}

describe('When the retrieval evaluation runs on a small SciFact slice in all three modes', () => {
  it('then it exits 0 and reports finite scores in [0, 1] for the slice’s counts', async () => {
    const report = await runSlice([]);
    expectCompleteReport(report);
    expect(report.service.vectorStore).toBe('lancedb');
  });

  it('then on the Qdrant double (Query API fusion, every request validated) it does the same', async () => {
    const report = await runSlice(['--store', 'qdrant-double']);
    expectCompleteReport(report);
    expect(report.service.vectorStore).toBe('qdrant');
  });
});
