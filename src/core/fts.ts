/**
 * Free-text search terms for SQLite FTS5, shared by the registry's index and the P2P catalog.
 * @module
 */

/** Turn free text into an FTS5 query of prefix terms, all required; quoting defuses FTS syntax */
export function ftsQuery(text: string): string {
  const terms = text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, 16);
  return terms.map((t) => `"${t}"*`).join(" ");
}
