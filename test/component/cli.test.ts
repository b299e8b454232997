import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCli } from '../support/built-cli';
import { ROOT } from '../support/spawn-entry';
import { startTestServer, type TestServer } from '../support/test-server';

/** The built `ragmem` binary (compiled as `npm run build` compiles it), run as a user runs it, against a test server. */
let server: TestServer;
let cli: Awaited<ReturnType<typeof buildCli>>;
let folder: string;
beforeAll(async () => {
  [server, cli] = await Promise.all([startTestServer({ API_KEYS: 'ka=alpha' }), buildCli()]);
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ragmem-cli-'));
}, 120_000);
afterAll(async () => {
  cli?.remove();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
  await server?.cleanup();
});

function ragmem(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli.bin, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, RAGMEM_URL: server.url, RAGMEM_API_KEY: 'ka', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const write = (rel: string, data: string | Buffer) => {
  const file = path.join(folder, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
};

describe('ragmem ingest', () => {
  it('uploads a folder and a glob, follows each file until ready, and lists a refused file with its code (exit 1)', async () => {
    write('share/reindeer.md', '# Reindeer\n\nSami herders move the reindeer to the coast in spring.');
    write('share/notes/cloudberries.txt', 'Cloudberries ripen in August on the northern bogs.');
    write('share/notes/sauna.html', '<html><body><article><h1>Sauna</h1><p>A smoke sauna is heated for hours.</p></article></body></html>');
    write('share/sheet.zip', Buffer.from('504b0304140000000800', 'hex')); // a ZIP that is no Word file
    write('loose/ferry.txt', 'The island ferry leaves at seven every morning.');

    const res = await ragmem(['ingest', path.join(folder, 'share'), `${folder}/loose/*.txt`, '--collection', 'cli']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^ready +.*reindeer\.md/m);
    expect(res.stdout).toMatch(/^ready +.*cloudberries\.txt/m);
    expect(res.stdout).toMatch(/^ready +.*sauna\.html/m);
    expect(res.stdout).toMatch(/^ready +.*ferry\.txt/m);
    expect(res.stdout).toContain('4 of 5 files ready, 1 failed.');
    expect(res.stderr).toMatch(/failed: .*sheet\.zip: unsupported_media_type: /);

    const listed = JSON.parse((await ragmem(['documents', 'list', '--collection', 'cli', '--json'])).stdout);
    expect(listed.map((d: { status: string }) => d.status)).toEqual(['ready', 'ready', 'ready', 'ready']);
  });

  it('exits 0 when every file is ready, and names a path that matches nothing', async () => {
    const ok = await ragmem([
      'ingest',
      write('one/lighthouse.md', 'Keepers trimmed the wicks of the lamp.'),
      '--collection',
      'cli-ok',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual([expect.objectContaining({ status: 'ready', chunkCount: 1 })]);
    const missing = await ragmem(['ingest', path.join(folder, 'nothing-here', '*.pdf')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file, folder or matching files/);
  });

  it('draws a progress bar per file and one overall on a terminal', async () => {
    // util-linux's `script` gives the CLI a pseudo-terminal, as a user's shell does; what it draws comes back on stdout.
    const files = ['a', 'b'].map((n) => write(`tty/${n}.md`, `# ${n}\n\nThe ${n} file of the terminal run.`));
    const command = [process.execPath, cli.bin, 'ingest', ...files, '--collection', 'cli-tty'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, RAGMEM_URL: server.url, RAGMEM_API_KEY: 'ka', TERM: 'xterm' },
    });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    const plain = screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(plain).toMatch(/100% \| a\.md \| ready/);
    expect(plain).toMatch(/100% \| b\.md \| ready/);
    expect(plain).toMatch(/100% \| 2 files \| done/);
    expect(plain).toContain('2 of 2 files ready, 0 failed.');
  });
});

describe('ragmem search, ask, sessions, documents, reindex', () => {
  it('searches as a table and as JSON', async () => {
    const table = await ragmem(['search', 'smoke sauna heated', '--collection', 'cli', '--mode', 'keyword', '-k', '2']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^#\s+SCORE\s+TITLE\s+DOCUMENT\s+TEXT$/);
    expect(table.stdout.split('\n')[1]).toMatch(/smoke sauna/);
    const json = JSON.parse((await ragmem(['search', 'ferry', '--collection', 'cli', '--json'])).stdout);
    expect(json.results[0].text).toContain('ferry');
    const bad = await ragmem(['search', 'ferry', '--mode', 'fuzzy']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Allowed choices are hybrid, dense, keyword/);
  });

  it('asks with the answer and its sources, then shows and exports the session', async () => {
    const asked = await ragmem(['ask', '--session', 'cli-s1', '--collection', 'cli', 'When does the island ferry leave?']);
    expect(asked.code).toBe(0);
    expect(asked.stdout).toMatch(/\n\nSources:\n {2}\[1\] /);
    const answer = asked.stdout.split('\n\nSources:')[0];
    expect(answer.length).toBeGreaterThan(0);

    const shown = await ragmem(['sessions', 'show', 'cli-s1']);
    expect(shown.stdout).toMatch(/^Session cli-s1 \(collection cli\), 2 messages/);
    expect(shown.stdout).toContain('When does the island ferry leave?');
    const file = path.join(folder, 'export.json');
    expect((await ragmem(['sessions', 'export', 'cli-s1', '-o', file])).code).toBe(0);
    const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(exported.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    expect(exported.messages[1].content).toBe(answer);
  });

  it('deletes documents, and reindexes a collection to completion', async () => {
    const [first] = JSON.parse((await ragmem(['documents', 'list', '--collection', 'cli', '--json'])).stdout);
    expect((await ragmem(['documents', 'rm', first.id])).stdout).toBe(`Deleted ${first.id}.\n`);
    const after = JSON.parse((await ragmem(['documents', 'list', '--collection', 'cli', '--json'])).stdout);
    expect(after.map((d: { id: string }) => d.id)).not.toContain(first.id);

    const reindexed = await ragmem(['reindex', '--collection', 'cli', '--chunk-size', '100', '--chunk-overlap', '10']);
    expect(reindexed.code).toBe(0);
    expect(reindexed.stdout).toMatch(/Reindex [0-9a-f]{16}: completed, 3 of 3 documents\./);
  });

  it('fails with the service’s code on a wrong key, and says so when the service is unreachable', async () => {
    const wrong = await ragmem(['documents', 'list'], { RAGMEM_API_KEY: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^ragmem: unauthorized: /);
    const flagWins = await ragmem(['documents', 'list', '--key', 'ka', '--json'], { RAGMEM_API_KEY: 'nope' });
    expect(flagWins.code).toBe(0);
    const away = await ragmem(['documents', 'list', '--url', 'http://127.0.0.1:9']);
    expect(away.code).toBe(1);
    expect(away.stderr).toMatch(/^ragmem: cannot reach the service/);
  });
});
