/**
 * LoCoMo conversations (../shared/data/locomo) as the memory evaluation imports them: each session's turns as messages
 * ("Speaker: text", photo captions appended) dated from the session's date, and the answerable questions (categories
 * 1-4) with their evidence turns.
 */
export interface LocomoTurn {
  speaker: string;
  dia_id: string;
  text: string;
  blip_caption?: string;
}

export interface LocomoQa {
  question: string;
  answer?: unknown;
  evidence?: string[];
  category: number;
}

export interface LocomoSample {
  sample_id: string;
  conversation: Record<string, unknown> & { speaker_a: string; speaker_b: string };
  qa: LocomoQa[];
}

export interface ImportMessage {
  role: 'user' | 'assistant';
  content: string;
  createdAt: string;
}

export interface Conversation {
  sampleId: string;
  messages: ImportMessage[];
  /** dia_id -> the turn's raw LoCoMo text (what must appear verbatim in the context). */
  textById: Map<string, string>;
  /** dia_id -> the imported message's content. */
  contentById: Map<string, string>;
  questions: Question[];
}

export interface Question {
  question: string;
  category: number;
  /** Valid evidence ids (in the conversation), deduplicated. */
  evidence: string[];
  /** Evidence ids that are not turns of the conversation (malformed in LoCoMo). */
  skipped: string[];
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** '1:56 pm on 8 May, 2023' -> epoch ms (taken as UTC). */
export function parseLocomoDate(s: string): number {
  const m = /^\s*(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$/i.exec(s);
  if (!m) throw new Error(`unrecognised LoCoMo date "${s}"`);
  const [, hh, mm, ampm, day, monthName, year] = m;
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month < 0) throw new Error(`unrecognised month in LoCoMo date "${s}"`);
  let hour = Number(hh) % 12;
  if (ampm.toLowerCase() === 'pm') hour += 12;
  return Date.UTC(Number(year), month, Number(day), hour, Number(mm));
}

export function loadConversation(sample: LocomoSample): Conversation {
  const conv = sample.conversation;
  const sessionNumbers = Object.keys(conv)
    .map((k) => /^session_(\d+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null && Array.isArray(conv[m[0]]))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const messages: ImportMessage[] = [];
  const textById = new Map<string, string>();
  const contentById = new Map<string, string>();
  for (const n of sessionNumbers) {
    const turns = conv[`session_${n}`] as LocomoTurn[];
    const when = conv[`session_${n}_date_time`];
    if (typeof when !== 'string') throw new Error(`${sample.sample_id}: session_${n} has no session_${n}_date_time`);
    const start = parseLocomoDate(when);
    turns.forEach((t, i) => {
      let content = `${t.speaker}: ${t.text}`;
      if (t.blip_caption) content += ` [shares a photo: ${t.blip_caption}]`;
      messages.push({
        role: t.speaker === conv.speaker_a ? 'user' : 'assistant',
        content,
        createdAt: new Date(start + i * 1000).toISOString(),
      });
      textById.set(t.dia_id, t.text);
      contentById.set(t.dia_id, content);
    });
  }
  const questions: Question[] = [];
  for (const qa of sample.qa) {
    if (qa.category < 1 || qa.category > 4) continue;
    const ids = (qa.evidence ?? []).flatMap((e) => String(e).split(/[;,\s]+/)).filter((e) => e.length > 0);
    const evidence: string[] = [];
    const skipped: string[] = [];
    for (const id of ids) {
      if (!textById.has(id)) skipped.push(id);
      else if (!evidence.includes(id)) evidence.push(id);
    }
    questions.push({ question: qa.question, category: qa.category, evidence, skipped });
  }
  return { sampleId: sample.sample_id, messages, textById, contentById, questions };
}

/**
 * The conversations as one longer conversation, one after the other (each keeps its own dates and speakers), with
 * every question of each: a length stress test, since recall must then find each answer among twice as many turns.
 * Turn ids are prefixed with their conversation's id to stay distinct.
 */
export function joinConversations(conversations: readonly Conversation[]): Conversation {
  const prefixed = <T>(conv: Conversation, map: Map<string, T>) => [...map].map(([id, v]) => [`${conv.sampleId}:${id}`, v] as const);
  return {
    sampleId: conversations.map((c) => c.sampleId).join('_'),
    messages: conversations.flatMap((c) => c.messages),
    textById: new Map(conversations.flatMap((c) => prefixed(c, c.textById))),
    contentById: new Map(conversations.flatMap((c) => prefixed(c, c.contentById))),
    questions: conversations.flatMap((c) =>
      c.questions.map((q) => ({
        ...q,
        evidence: q.evidence.map((id) => `${c.sampleId}:${id}`),
        skipped: q.skipped.map((id) => `${c.sampleId}:${id}`),
      })),
    ),
  };
}
