/** The collection a request names when it names none. */
export const DEFAULT_COLLECTION = 'default';
