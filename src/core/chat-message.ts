/** One message of a chat prompt, as every model API takes it: what the context builder makes and providers send. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}
