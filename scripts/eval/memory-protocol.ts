/**
 * The held-out protocol of the memory evaluation: with only two development conversations, every constant of the
 * context protocol is chosen on ONE conversation and reported on the OTHER, both ways round, per LoCoMo category.
 *
 * A setting is the context protocol's tunable constants (shares, recall hits, neighbours, feedback, speaker boost).
 * Choosing is coordinate ascent from the shipped defaults over TUNING_GRID, on the tuning conversation alone: each
 * dimension in turn takes the value with the best evidence recall (mean over the budgets), moving only on a strict
 * improvement, until a full pass changes nothing (at most MAX_PASSES). The report side is then measured once, with the
 * chosen setting; it never feeds back into a choice.
 */
import type { Config } from '../../src/config';
import type { BuiltContext } from '../../src/context/context-types';
import { prepareContext } from '../../src/sessions/prepare-context';
import { DEFAULT_RECALL_OPTIONS, type RecallOptions } from '../../src/sessions/recall-turns';
import type { SessionDeps } from '../../src/sessions/session-deps';
import type { Conversation } from './locomo';

/** LoCoMo's categories in this data (1: several evidence turns, 2: "When...", 3: "Would... likely", 4: one turn). */
export const CATEGORY_NAMES: Record<number, string> = { 1: 'multi-hop', 2: 'temporal', 3: 'open-domain', 4: 'single-hop' };
export const CATEGORIES = [1, 2, 3, 4];

export interface Setting {
  shares: { retrieved: number; summary: number; recalled: number };
  recallK: number;
  recall: RecallOptions;
}

type Dimension = { name: string; values: unknown[]; get: (s: Setting) => unknown; set: (s: Setting, v: unknown) => Setting };

const FEEDBACK = { hits: 5, terms: 5, weight: 0.5 };

/**
 * What the tuning may move, each with the values it may take (the shipped default is always among them): recall's
 * constants. The shares are not tuned here: with `k: 0` the retrieved share is never used (what it leaves flows to the
 * summary and recall), and the window's and the summary's worth to a chat (the turns a question leans on, the gist of
 * everything) is not what verbatim evidence recall measures, so moving them on this measure would fit it, not the
 * product (their effect is reported as an ablation: `--ablation on`).
 */
export const TUNING_GRID: Dimension[] = [
  dim(
    'recall k',
    [20, 40, 80],
    (s) => s.recallK,
    (s, v) => ({ ...s, recallK: v as number }),
  ),
  recallDim('after', [0, 1, 2]),
  recallDim('before', [0, 1]),
  recallDim('neighbourDelay', [0, 5, 1000]),
  recallDim('feedback', [null, FEEDBACK]),
  recallDim('speakerBoost', [0, 0.5, 2]),
];
const MAX_PASSES = 3;

function dim(name: string, values: unknown[], get: Dimension['get'], set: Dimension['set']): Dimension {
  return { name, values, get, set };
}
function recallDim<K extends keyof RecallOptions>(key: K, values: RecallOptions[K][]): Dimension {
  return dim(
    key,
    values,
    (s) => s.recall[key],
    (s, v) => ({ ...s, recall: { ...s.recall, [key]: v } }),
  );
}

export function defaultSetting(config: Readonly<Config>): Setting {
  const ctx = config.sessions.context;
  return { shares: { ...ctx.shares }, recallK: ctx.recallK, recall: { ...DEFAULT_RECALL_OPTIONS } };
}

/** `summary share 0.05, after 2` etc.: how a setting differs from `base` ('defaults' when it does not). */
export function describeSetting(s: Setting, base: Setting): string {
  const diffs = TUNING_GRID.filter((d) => JSON.stringify(d.get(s)) !== JSON.stringify(d.get(base))).map(
    (d) => `${d.name} ${JSON.stringify(d.get(s))}`,
  );
  return diffs.length === 0 ? 'defaults' : diffs.join(', ');
}

export interface QuestionOutcome {
  category: number;
  evidence: number;
  found: number;
  used: number;
  budget: number;
}

export interface SessionUnderTest {
  conv: Conversation;
  id: string;
}

/** The builder's answer for every question of one conversation at one budget, in-process, with `setting`. */
export async function measureSetting(
  deps: SessionDeps,
  tenant: string,
  s: SessionUnderTest,
  setting: Setting,
  budget: number,
  answerReserve: number,
): Promise<QuestionOutcome[]> {
  const ctx = deps.config.sessions.context;
  const tuned: SessionDeps = {
    ...deps,
    config: {
      ...deps.config,
      sessions: { ...deps.config.sessions, context: { ...ctx, shares: setting.shares, recallK: setting.recallK } },
    },
    recall: setting.recall,
  };
  const out: QuestionOutcome[] = [];
  for (const q of s.conv.questions) {
    const { built } = await prepareContext(tuned, tenant, s.id, { question: q.question, k: 0, maxContextTokens: budget + answerReserve });
    out.push({
      category: q.category,
      evidence: q.evidence.length,
      found: evidenceFound(built, s.conv, q.evidence).length,
      used: built.context.used,
      budget,
    });
  }
  return out;
}

/** The evidence turns whose raw LoCoMo text a built context holds verbatim. */
export function evidenceFound(built: Pick<BuiltContext, 'messages'>, conv: Conversation, evidence: readonly string[]): string[] {
  return evidence.filter((id) => {
    const text = conv.textById.get(id)!;
    return built.messages.some((m) => m.content.includes(text));
  });
}

export function recallOf(outcomes: readonly QuestionOutcome[], category?: number): number {
  const rs = category === undefined ? outcomes : outcomes.filter((o) => o.category === category);
  const e = rs.reduce((n, o) => n + o.evidence, 0);
  return e === 0 ? NaN : rs.reduce((n, o) => n + o.found, 0) / e;
}

export interface Choice {
  setting: Setting;
  /** Mean evidence recall over the budgets on the tuning conversation. */
  score: number;
  /** Settings measured while choosing. */
  evaluated: number;
  trace: string[];
}

/** Coordinate ascent over TUNING_GRID on one conversation (see the module comment). */
export async function chooseSetting(
  measure: (setting: Setting) => Promise<number>,
  start: Setting,
  log: (line: string) => void = () => undefined,
): Promise<Choice> {
  const cache = new Map<string, number>();
  const score = async (s: Setting) => {
    const key = JSON.stringify(s);
    if (!cache.has(key)) cache.set(key, await measure(s));
    return cache.get(key)!;
  };
  let best = start;
  let bestScore = await score(start);
  const trace = [`start ${describeSetting(start, start)}: ${pct(bestScore)}`];
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let moved = false;
    for (const d of TUNING_GRID) {
      for (const v of d.values) {
        if (JSON.stringify(v) === JSON.stringify(d.get(best))) continue;
        const candidate = d.set(best, v);
        const sc = await score(candidate);
        if (sc > bestScore + 1e-12) {
          best = candidate;
          bestScore = sc;
          moved = true;
          trace.push(`pass ${pass + 1}: ${d.name} ${JSON.stringify(v)} -> ${pct(sc)}`);
          log(trace[trace.length - 1]);
        }
      }
    }
    if (!moved) break;
  }
  return { setting: best, score: bestScore, evaluated: cache.size, trace };
}

export const pct = (x: number) => (Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);

/**
 * One change at a time from `base`: every other value of every TUNING_GRID dimension, plus `extra` settings (shares).
 * A change is worth keeping only if it helps on both conversations (so either direction of the split would choose it
 * and the other would confirm it).
 */
export function oneFactorSettings(
  base: Setting,
  extra: Array<{ name: string; setting: Setting }> = [],
): Array<{ name: string; setting: Setting }> {
  const out: Array<{ name: string; setting: Setting }> = [];
  for (const d of TUNING_GRID) {
    for (const v of d.values) {
      if (JSON.stringify(v) !== JSON.stringify(d.get(base))) out.push({ name: `${d.name} ${JSON.stringify(v)}`, setting: d.set(base, v) });
    }
  }
  return [...out, ...extra];
}
