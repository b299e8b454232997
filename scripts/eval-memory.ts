/**
 * Memory evaluation on LoCoMo: how much of the evidence a question needs does the built context hold, at a budget?
 *
 *   npm run eval:memory -- --data ../shared/data/locomo/locomo-dev.json [--budgets 2048,4096] [--held-out on|off]
 *     [--join on] [--ablation on] [--out reports/eval-memory.json] [--url http://host:port] [--limit-questions N] [--answer-reserve 16] [--keep-sessions]
 *
 * Every conversation is imported into one session (POST /sessions/:id/messages, pages of 100 turns with their dates),
 * then for every answerable question (categories 1-4; 5 is adversarial) POST /sessions/:id/context builds what ask
 * would send, with k 0 (no documents). An evidence turn counts as found when its raw LoCoMo text appears verbatim in a
 * built message. The baseline, a recency-only window of the same budget, is computed here without the service. Figures
 * are given per conversation and per LoCoMo category.
 *
 * The held-out protocol (scripts/eval/memory-protocol.ts; in-process only, `--held-out off` skips it): every tunable
 * constant is chosen on one conversation and reported on the other, both ways round.
 *
 * `--join on` imports the conversations one after the other into one session and asks every question of each there:
 * a conversation about twice as long as either, to see how recall holds up as the history grows (no held-out run).
 *
 * Without --url the service runs in-process (offline provider, LanceDB in a temp dir, a random Redis prefix, workers
 * inline, CONTEXT_ANSWER_TOKENS 16) so that maxContextTokens = budget + 16 gives context.budget === budget.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TokenCounter } from '../src/core/tokens/token-counter';
import { MESSAGE_OVERHEAD_TOKENS, PROMPT_OVERHEAD_TOKENS } from '../src/core/tokens/message-tokens';
import { callJson as call } from '../bench/http';
import { printTable } from '../bench/table';
import { startInProcessService, type InProcessService } from './eval/in-process-service';
import { runMain } from './eval/run-main';
import { percentile } from './eval/retrieval-metrics';
import { arg } from '../bench/args';
import { joinConversations, loadConversation, type Conversation, type LocomoSample } from './eval/locomo';
import {
  CATEGORIES,
  CATEGORY_NAMES,
  chooseSetting,
  defaultSetting,
  describeSetting,
  measureSetting,
  oneFactorSettings,
  pct,
  recallOf,
  type QuestionOutcome,
  type SessionUnderTest,
  type Setting,
} from './eval/memory-protocol';

// ---------------------------------------------------------------------------------------------------------------
// Arguments

const USAGE =
  'usage: npm run eval:memory -- --data ../shared/data/locomo/locomo-dev.json [--budgets 2048,4096] [--held-out on|off] [--join on] [--ablation on] ' +
  '[--out reports/eval-memory.json] [--url http://host:port] [--limit-questions N] [--answer-reserve 16] [--keep-sessions]';

/** Turns per import request: a chat app's history arrives in pieces, and the summariser folds between them. */
const IMPORT_PAGE = 100;
const TENANT = 'default';

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface SessionView {
  messageCount: number;
  lastSeq?: number;
  recallIndexedThroughSeq: number;
  summary: { coversThroughSeq: number; tokenCount: number } | null;
}

async function importConversation(base: string, conv: Conversation): Promise<{ id: string; lastSeq: number; seconds: number }> {
  const id = `locomo-${conv.sampleId}-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  await call(base, 'POST', '/sessions', { id });
  let lastSeq = 0;
  for (let i = 0; i < conv.messages.length; i += IMPORT_PAGE) {
    const r = await call(base, 'POST', `/sessions/${id}/messages`, { messages: conv.messages.slice(i, i + IMPORT_PAGE) });
    lastSeq = r.lastSeq;
  }
  if (lastSeq !== conv.messages.length) throw new Error(`${id}: imported ${conv.messages.length} turns but lastSeq is ${lastSeq}`);
  return { id, lastSeq, seconds: (performance.now() - started) / 1000 };
}

/**
 * Waits until recall indexing reaches lastSeq, then until the rolling summary settles (nothing left for the
 * summariser: fewer than `trigger` messages outside it beyond the kept-recent ones, or unchanged for 5 s).
 */
async function waitForMemory(
  base: string,
  id: string,
  lastSeq: number,
  policy: { keepRecent: number; trigger: number },
  timeoutMs = 5 * 60_000,
) {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let view: SessionView;
  for (;;) {
    view = await call(base, 'GET', `/sessions/${id}`);
    if (view.recallIndexedThroughSeq >= lastSeq) break;
    if (Date.now() > deadline) {
      throw new Error(
        `session ${id}: recall indexed through seq ${view.recallIndexedThroughSeq} of ${lastSeq} after ${timeoutMs / 1000} s; is a worker running?`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const recallSeconds = (Date.now() - started) / 1000;
  let covers = view.summary?.coversThroughSeq ?? 0;
  let stableSince = Date.now();
  for (;;) {
    if (lastSeq - policy.keepRecent - covers < policy.trigger) break;
    if (Date.now() - stableSince > 5000 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
    view = await call(base, 'GET', `/sessions/${id}`);
    const now = view.summary?.coversThroughSeq ?? 0;
    if (now !== covers) {
      covers = now;
      stableSince = Date.now();
    }
  }
  return { recallSeconds, summaryCoversThroughSeq: covers, summaryTokens: view.summary?.tokenCount ?? 0 };
}

// ---------------------------------------------------------------------------------------------------------------
// Measures

interface ContextResponse {
  messages: Array<{ role: string; content: string }>;
  context: { budget: number; used: number; parts: Record<string, number> };
  windowSeqs: number[];
  recalledSeqs: number[];
  summaryCoversThroughSeq: number | null;
}

interface QuestionResult {
  conversation: string;
  question: string;
  category: number;
  evidence: string[];
  found: string[];
  used: number;
  latencyMs?: number;
  parts?: Record<string, number>;
  windowTurns?: number;
  recalledTurns?: number;
}

function summarise(method: string, budget: number, results: QuestionResult[]) {
  const total = results.reduce((n, r) => n + r.evidence.length, 0);
  const found = results.reduce((n, r) => n + r.found.length, 0);
  const perCategory: Record<string, { evidence: number; found: number; recall: number; questions: number }> = {};
  for (const c of CATEGORIES) {
    const rs = results.filter((r) => r.category === c);
    const e = rs.reduce((n, r) => n + r.evidence.length, 0);
    const f = rs.reduce((n, r) => n + r.found.length, 0);
    perCategory[`cat${c}`] = { questions: rs.length, evidence: e, found: f, recall: e ? f / e : NaN };
  }
  const used = results.map((r) => r.used);
  const latencies = results.map((r) => r.latencyMs).filter((x): x is number => x !== undefined);
  const partSums: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.parts ?? {})) partSums[k] = (partSums[k] ?? 0) + v;
  const usedSum = used.reduce((a, b) => a + b, 0);
  const shares = Object.fromEntries(Object.entries(partSums).map(([k, v]) => [k, usedSum ? v / usedSum : 0]));
  return {
    method,
    budget,
    questions: results.length,
    evidenceTurns: total,
    evidenceFound: found,
    evidenceRecall: total ? found / total : NaN,
    perCategory,
    tokensUsed: { mean: usedSum / Math.max(1, used.length), max: Math.max(0, ...used) },
    overBudget: used.filter((u) => u > budget).length,
    latencyMs: latencies.length ? { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies) } : null,
    partShares: shares,
  };
}

/** Recency-only: the newest whole turns that fit `budget` with the question (BOS, per-message overhead included). */
function recencyWindow(conv: Conversation, ids: string[], question: string, budget: number, counter: TokenCounter, turnTokens: number[]) {
  let used = PROMPT_OVERHEAD_TOKENS + counter.count(question) + MESSAGE_OVERHEAD_TOKENS;
  let i = conv.messages.length;
  while (i > 0 && used + turnTokens[i - 1] <= budget) {
    used += turnTokens[i - 1];
    i--;
  }
  const inWindow = new Set(ids.slice(i));
  return { used, inWindow };
}

const categoryColumns = (recall: (c: number) => number) =>
  Object.fromEntries(CATEGORIES.map((c) => [`${CATEGORY_NAMES[c]} (${c})`, pct(recall(c))]));

// ---------------------------------------------------------------------------------------------------------------
// Main

interface ImportedSession extends SessionUnderTest {
  lastSeq: number;
  ids: string[];
  turnTokens: number[];
  memory: Awaited<ReturnType<typeof waitForMemory>>;
  importSeconds: number;
}

async function main() {
  const started = performance.now();
  const data = arg('data');
  if (!data) throw new Error(USAGE);
  const budgets = (arg('budgets') ?? arg('budget') ?? '2048,4096').split(',').map((b) => Number(b.trim()));
  if (budgets.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`bad budget(s): ${budgets.join(',')}\n${USAGE}`);
  const out = arg('out') ?? 'reports/eval-memory.json';
  const limitQuestions = arg('limit-questions') ? Number(arg('limit-questions')) : Infinity;
  let answerReserve = Number(arg('answer-reserve') ?? '16');
  const heldOut = (arg('held-out') ?? 'on') !== 'off';

  const samples = JSON.parse(await fs.readFile(data, 'utf8')) as LocomoSample[];
  const joined = arg('join') === 'on';
  const conversations = joined ? [joinConversations(samples.map(loadConversation))] : samples.map(loadConversation);
  let remaining = limitQuestions;
  for (const c of conversations) {
    c.questions = c.questions.slice(0, Math.max(0, remaining));
    remaining -= c.questions.length;
  }

  const counter = new TokenCounter();
  let inProcess: InProcessService | undefined;
  let base = arg('url')?.replace(/\/+$/, '');
  // The summariser's defaults (config.ts) unless we run the service ourselves and know its config.
  let policy = { keepRecent: 24, trigger: 16 };
  if (!base) {
    // maxContextTokens = budget + 16 then gives context.budget === budget.
    inProcess = await startInProcessService('eval-memory', { CONTEXT_ANSWER_TOKENS: '16' });
    const s = inProcess.config.sessions.summary;
    policy = { keepRecent: s.keepRecentMessages, trigger: s.triggerMessages };
    base = inProcess.server.url;
  }

  try {
    // Import every conversation once; all budgets (and the held-out protocol) ask the same sessions.
    const sessions: ImportedSession[] = [];
    for (const conv of conversations) {
      const imported = await importConversation(base, conv);
      const memory = await waitForMemory(base, imported.id, imported.lastSeq, policy);
      const ids = [...conv.contentById.keys()];
      const turnTokens = conv.messages.map((m) => counter.count(m.content) + MESSAGE_OVERHEAD_TOKENS);
      console.error(
        `${conv.sampleId}: ${imported.lastSeq} turns imported in ${imported.seconds.toFixed(2)} s, recall indexed after ${memory.recallSeconds.toFixed(1)} s, ` +
          `summary covers through seq ${memory.summaryCoversThroughSeq} (${memory.summaryTokens} tokens), ` +
          `${turnTokens.reduce((a, b) => a + b, 0)} tokens of turns, ${conv.questions.length} questions`,
      );
      sessions.push({ conv, ...imported, ids, turnTokens, memory, importSeconds: imported.seconds });
    }
    // New rows are folded into the keyword index when writes pause (about a second in the service); do it now, so
    // every question (and every setting of the held-out protocol) searches the same index.
    await inProcess?.server.services.sessionVectors.optimize();

    const skippedIds = conversations.flatMap((c) => c.questions.flatMap((q) => q.skipped.map((id) => `${c.sampleId}:${id}`)));
    const noEvidence = conversations.reduce((n, c) => n + c.questions.filter((q) => q.evidence.length === 0).length, 0);

    const reports = [];
    const rows: Array<Record<string, string | number>> = [];
    for (const budget of budgets) {
      const ragmem: QuestionResult[] = [];
      const recency: QuestionResult[] = [];
      let budgetMismatches = 0;
      for (const s of sessions) {
        for (const q of s.conv.questions) {
          const ask = async () => {
            const t0 = performance.now();
            const r = (await call(base!, 'POST', `/sessions/${s.id}/context`, {
              question: q.question,
              maxContextTokens: budget + answerReserve,
              k: 0,
            })) as ContextResponse;
            return { r, ms: performance.now() - t0 };
          };
          let { r, ms } = await ask();
          if (r.context.budget !== budget && ragmem.length === 0 && arg('url')) {
            // An external service reserves its own CONTEXT_ANSWER_TOKENS: calibrate once on the first question.
            const reserve = budget + answerReserve - r.context.budget;
            console.error(
              `the service reserves ${reserve} answer tokens (not ${answerReserve}): sending maxContextTokens = budget + ${reserve}`,
            );
            answerReserve = reserve;
            ({ r, ms } = await ask());
          }
          if (r.context.budget !== budget) budgetMismatches++;
          const found = q.evidence.filter((id) => {
            const text = s.conv.textById.get(id)!;
            return r.messages.some((m) => m.content.includes(text));
          });
          ragmem.push({
            conversation: s.conv.sampleId,
            question: q.question,
            category: q.category,
            evidence: q.evidence,
            found,
            used: r.context.used,
            latencyMs: ms,
            parts: r.context.parts,
            windowTurns: r.windowSeqs.length,
            recalledTurns: r.recalledSeqs.length,
          });
          const base0 = recencyWindow(s.conv, s.ids, q.question, budget, counter, s.turnTokens);
          recency.push({
            conversation: s.conv.sampleId,
            question: q.question,
            category: q.category,
            evidence: q.evidence,
            found: q.evidence.filter((id) => base0.inWindow.has(id)),
            used: base0.used,
          });
        }
      }
      if (budgetMismatches > 0) {
        console.error(`WARNING: at budget ${budget}, ${budgetMismatches} answers reported context.budget !== ${budget}`);
      }
      // Each conversation, then all together (`both` for the development pair, `all` for a larger file).
      const together = sessions.length === 2 ? 'both' : 'all';
      const scopes = [...sessions.map((s) => s.conv.sampleId), ...(sessions.length > 1 ? [together] : [])];
      const summaries = [];
      for (const scope of scopes) {
        const pick = (rs: QuestionResult[]) => (scope === together ? rs : rs.filter((r) => r.conversation === scope));
        const a = summarise('ragmem context', budget, pick(ragmem));
        const b = summarise('recency-only window', budget, pick(recency));
        if (scope === scopes.at(-1) && a.overBudget > 0)
          console.error(`WARNING: ${a.overBudget} contexts at budget ${budget} used more tokens than the budget`);
        for (const x of [a, b]) {
          rows.push({
            method: x.method,
            budget,
            conversation: scope,
            questions: x.questions,
            'evidence turns': x.evidenceTurns,
            'evidence recall': pct(x.evidenceRecall),
            ...categoryColumns((c) => x.perCategory[`cat${c}`].recall),
            'mean used': Math.round(x.tokensUsed.mean),
            'max used': x.tokensUsed.max,
            'over budget': x.overBudget,
            'p50 ms': x.latencyMs ? x.latencyMs.p50 : '-',
            'p95 ms': x.latencyMs ? x.latencyMs.p95 : '-',
            'recalled/window/summary share': x.method === 'ragmem context' ? sharesText(x.partShares) : '-',
          });
        }
        summaries.push({ scope, ragmem: a, recency: b });
      }
      reports.push({ budget, budgetMismatches, summaries, questions: { ragmem, recency } });
    }

    printTable(
      `Memory on LoCoMo (${conversations.map((c) => c.sampleId).join(', ')}; categories 1-4; k 0; shipped defaults, through HTTP): share of evidence turns whose text is in the context`,
      rows,
    );
    const reference: Record<number, number> = { 2048: 0.104, 4096: 0.241, 8192: 0.375 };
    for (const r of reports) {
      const ref = reference[r.budget];
      // The reference is the data README's for locomo-dev: all its questions, each conversation in its own session.
      const isDevSlice = conversations.map((c) => c.sampleId).join(',') === 'conv-26,conv-30';
      if (ref === undefined || Number.isFinite(limitQuestions) || !isDevSlice) continue;
      const got = r.summaries.at(-1)!.recency.evidenceRecall;
      const close = Math.abs(got - ref) <= 0.02;
      console.log(`recency-only at ${r.budget}: ${pct(got)} (data README: ${pct(ref)})${close ? '' : '  <-- NOT close to the reference'}`);
    }
    console.log(
      `evidence ids skipped (not turns of the conversation): ${skippedIds.length}${skippedIds.length ? ` (${skippedIds.join(', ')})` : ''}; ` +
        `questions without valid evidence: ${noEvidence}`,
    );

    let ablation: Awaited<ReturnType<typeof runAblation>> | undefined;
    if (arg('ablation') === 'on' && inProcess) ablation = await runAblation(inProcess, sessions, budgets, answerReserve);
    let heldOutReport: Awaited<ReturnType<typeof runHeldOut>> | undefined;
    if (heldOut && inProcess && sessions.length === 2) heldOutReport = await runHeldOut(inProcess, sessions, budgets, answerReserve);
    else if (heldOut) console.log('held-out protocol skipped: it needs the in-process service (no --url) and exactly two conversations');

    await fs.mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await fs.writeFile(
      out,
      JSON.stringify(
        {
          createdAt: new Date().toISOString(),
          data,
          service: arg('url') ?? 'in-process (offline provider, LanceDB, CONTEXT_ANSWER_TOKENS 16)',
          answerReserve,
          budgets,
          conversations: sessions.map((s) => ({
            sampleId: s.conv.sampleId,
            sessionId: s.id,
            turns: s.lastSeq,
            turnTokens: s.turnTokens.reduce((x, y) => x + y, 0),
            importSeconds: s.importSeconds,
            ...s.memory,
          })),
          skippedEvidenceIds: skippedIds,
          questionsWithoutEvidence: noEvidence,
          results: reports,
          heldOut: heldOutReport,
          ablation,
        },
        null,
        2,
      ),
    );
    console.log(`report: ${out}; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);

    if (!process.argv.includes('--keep-sessions'))
      for (const s of sessions) await call(base, 'DELETE', `/sessions/${s.id}`).catch(() => undefined);
  } finally {
    if (inProcess) {
      await inProcess.stop();
    }
  }
}

/**
 * Tune on one conversation, report on the other, both ways round (memory-protocol.ts). Prints the report side per
 * budget and category beside the shipped defaults measured the same way (in-process, same sessions).
 */
async function runHeldOut(inProcess: InProcessService, sessions: ImportedSession[], budgets: number[], answerReserve: number) {
  const t0 = performance.now();
  const deps = inProcess.server.services;
  const defaults = defaultSetting(inProcess.config);
  const outcomes = new Map<string, QuestionOutcome[]>();
  const measure = async (s: ImportedSession, setting: Setting, budget: number) => {
    const key = `${s.conv.sampleId} ${budget} ${JSON.stringify(setting)}`;
    if (!outcomes.has(key)) outcomes.set(key, await measureSetting(deps, TENANT, s, setting, budget, answerReserve));
    return outcomes.get(key)!;
  };
  const rows: Array<Record<string, string | number>> = [];
  const directions = [];
  for (const [tune, report] of [sessions, [...sessions].reverse()]) {
    const direction = `tune ${tune.conv.sampleId} -> report ${report.conv.sampleId}`;
    const choice = await chooseSetting(
      async (setting) => {
        const all = (await Promise.all(budgets.map((b) => measure(tune, setting, b)))).map((o) => recallOf(o));
        return all.reduce((a, b) => a + b, 0) / all.length;
      },
      defaults,
      (line) => console.error(`${direction}: ${line}`),
    );
    const chosen = describeSetting(choice.setting, defaults);
    const perBudget = [];
    for (const budget of budgets) {
      const tuned = await measure(report, choice.setting, budget);
      const shipped = await measure(report, defaults, budget);
      const tuneSide = await measure(tune, choice.setting, budget);
      for (const [label, o] of [
        ['chosen on the other', tuned],
        ['shipped defaults', shipped],
      ] as const) {
        rows.push({
          direction,
          budget,
          setting: label === 'chosen on the other' ? `${chosen} (chosen on ${tune.conv.sampleId})` : 'shipped defaults',
          'tune side': label === 'chosen on the other' ? pct(recallOf(tuneSide)) : '-',
          'report side': pct(recallOf(o)),
          ...categoryColumns((c) => recallOf(o, c)),
          'over budget': o.filter((q) => q.used > q.budget).length,
        });
      }
      perBudget.push({
        budget,
        tuneSide: recallOf(tuneSide),
        reportSide: recallOf(tuned),
        reportPerCategory: Object.fromEntries(CATEGORIES.map((c) => [CATEGORY_NAMES[c], recallOf(tuned, c)])),
        shippedDefaults: recallOf(shipped),
        shippedPerCategory: Object.fromEntries(CATEGORIES.map((c) => [CATEGORY_NAMES[c], recallOf(shipped, c)])),
        overBudget: tuned.filter((q) => q.used > q.budget).length,
      });
    }
    directions.push({ direction, chosen, setting: choice.setting, settingsTried: choice.evaluated, trace: choice.trace, perBudget });
  }
  printTable(
    'Held-out: constants chosen on one conversation (coordinate ascent over scripts/eval/memory-protocol.ts TUNING_GRID, mean recall over the budgets), evidence recall on the other',
    rows,
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log(`held-out protocol: ${outcomes.size} (conversation, budget, setting) runs in ${seconds.toFixed(0)} s`);
  return { defaults, directions, seconds };
}

/** One change at a time from the shipped defaults, on each conversation (`--ablation on`). */
async function runAblation(inProcess: InProcessService, sessions: ImportedSession[], budgets: number[], answerReserve: number) {
  const deps = inProcess.server.services;
  const defaults = defaultSetting(inProcess.config);
  const withShares = (name: string, shares: Partial<Setting['shares']>) => ({
    name,
    setting: { ...defaults, shares: { ...defaults.shares, ...shares } },
  });
  const changes = oneFactorSettings(defaults, [
    withShares('no summary (summary share 0)', { summary: 0 }),
    // No documents: the retrieved share goes to the window instead of to recall (allocate.ts).
    withShares('retrieved share to the window', { retrieved: 0 }),
  ]);
  const rows: Array<Record<string, string | number>> = [];
  const recallAt = async (s: ImportedSession, setting: Setting, budget: number) =>
    recallOf(await measureSetting(deps, TENANT, s, setting, budget, answerReserve));
  const baseline = new Map<string, number>();
  for (const s of sessions) for (const b of budgets) baseline.set(`${s.conv.sampleId} ${b}`, await recallAt(s, defaults, b));
  const results = [];
  for (const change of changes) {
    const row: Record<string, string | number> = { change: change.name };
    const deltas: number[][] = [];
    for (const s of sessions) {
      const perBudget: number[] = [];
      for (const b of budgets) {
        const d = (await recallAt(s, change.setting, b)) - baseline.get(`${s.conv.sampleId} ${b}`)!;
        perBudget.push(d);
        row[`${s.conv.sampleId} @${b}`] = signedPoints(d);
      }
      deltas.push(perBudget);
    }
    const means = deltas.map((ds) => ds.reduce((a, b) => a + b, 0) / ds.length);
    row['helps both'] = means.every((m) => m > 0) ? 'yes' : 'no';
    rows.push(row);
    results.push({ change: change.name, deltas });
  }
  printTable(
    `Ablation: one change at a time from the shipped defaults, evidence recall difference in points (defaults: ${[...baseline]
      .map(([k, v]) => `${k} ${pct(v)}`)
      .join(', ')})`,
    rows,
  );
  return { baseline: Object.fromEntries(baseline), results };
}

const signedPoints = (d: number) => `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)}`;

const sharesText = (s: Record<string, number>) =>
  ['recalled', 'window', 'summary'].map((k) => `${Math.round(100 * (s[k] ?? 0))}%`).join('/');

if (require.main === module) runMain(main);
