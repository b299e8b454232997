import { AppError } from '../errors';
import { DEFAULT_COLLECTION } from '../core/collections';
import type { MessageRole, SessionRecord, StoredMessage } from '../stores/session/session-types';
import type { SessionDeps } from './session-deps';

export const sessionNotFound = (id: string) => new AppError('session_not_found', `No session "${id}"`);

export async function getSession(deps: Pick<SessionDeps, 'sessions'>, tenant: string, id: string): Promise<SessionRecord> {
  const session = await deps.sessions.get(tenant, id);
  if (!session) throw sessionNotFound(id);
  return session;
}

/** A page of messages, newest first, before `beforeSeq` (exclusive; default: after the newest). */
export async function listMessages(deps: Pick<SessionDeps, 'sessions'>, tenant: string, id: string, limit: number, beforeSeq?: number) {
  const session = await getSession(deps, tenant, id);
  const to = Math.min(session.lastSeq, (beforeSeq ?? session.lastSeq + 1) - 1);
  const from = Math.max(1, to - limit + 1);
  const messages = to >= 1 ? (await deps.sessions.range(tenant, id, from, to)).reverse() : [];
  return { messages, nextBeforeSeq: from > 1 && to >= 1 ? from : null };
}

/**
 * Appends history without calling a model (an import, or turns answered elsewhere); creates the session when new.
 * The recall index and the summary follow in the background.
 */
export async function importMessages(
  deps: SessionDeps,
  tenant: string,
  id: string,
  messages: { role: MessageRole; content: string; createdAt?: string }[],
): Promise<{ appended: number; lastSeq: number; stored: StoredMessage[] }> {
  const result = await deps.sessions.append(
    tenant,
    id,
    messages.map((m) => ({ ...m, tokenCount: deps.tokenCounter.count(m.content) })),
    { collection: DEFAULT_COLLECTION },
  );
  if (!result) throw sessionNotFound(id); // cannot happen without expectGeneration; kept for the type
  await deps.memoryProducer.afterAppend(tenant, result.session);
  return { appended: result.messages.length, lastSeq: result.session.lastSeq, stored: result.messages };
}

/** Removes the session, its messages, its summary and its recall vectors. */
export async function deleteSession(deps: SessionDeps, tenant: string, id: string): Promise<void> {
  const deleted = await deps.sessions.delete(tenant, id);
  if (!deleted) throw sessionNotFound(id);
  // The record went first: from now on no ask recalls from these vectors and no memory job writes new ones.
  await deps.recallIndex.deleteSession(tenant, id, deleted.generation);
}
