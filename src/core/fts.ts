/**
 * The one full-text index definition of the package entity, shared by the registry's SQLite
 * index (src/registry/server/db.ts) and the P2P catalog (src/p2p/catalog.ts), so both rank the
 * same way: the exact id first, then BM25 with the id and name weighted above the prose. Pure
 * SQL text and mapping (no database handle), which is why it sits in core beside the package
 * model it indexes.
 * @module
 */

/** The indexed fields of a package, in column order */
export interface PackageIndexRow {
  /** Reverse-DNS package id (weighted highest) */
  id: string;
  /** Human-readable name */
  name: string;
  /** One-line description (weighted lowest) */
  description: string;
  /** Search tags */
  tags: string[];
  /** Search keywords */
  keywords: string[];
}

/** BM25 weights of the columns: id, name, description, tags, keywords */
const WEIGHTS = [10, 5, 1, 3, 3];

/**
 * `CREATE VIRTUAL TABLE` of the index named `table`. Prefix indexes for 2 to 6 characters let the
 * word being typed be looked up like a whole word (a prefix query otherwise merges the lists of
 * every matching term first: 8.7 ms against 4.5 ms for "templ" at 100,000 packages, measured; the
 * index takes about 40 µs more per insert)
 */
export function packageIndexSchema(table: string): string {
  return `CREATE VIRTUAL TABLE IF NOT EXISTS ${table} USING fts5(id, name, description, tags, keywords, prefix='2 3 4 5 6');`;
}

/** Statement inserting one row into `table`; bind {@link packageIndexValues} */
export function packageIndexInsert(table: string): string {
  return `INSERT INTO ${table} (id, name, description, tags, keywords) VALUES (?, ?, ?, ?, ?)`;
}

/**
 * Statement inserting one row under an explicit rowid (bind the rowid, then
 * {@link packageIndexValues}): an index keyed by its owner's rowid is updated by rowid, where a
 * `WHERE id = ?` on an FTS5 table would scan every row
 */
export function packageIndexInsertAt(table: string): string {
  return `INSERT INTO ${table} (rowid, id, name, description, tags, keywords) VALUES (?, ?, ?, ?, ?, ?)`;
}

/** The values of one row, in column order */
export function packageIndexValues(p: PackageIndexRow): [string, string, string, string, string] {
  return [p.id, p.name, p.description, p.tags.join(" "), p.keywords.join(" ")];
}

/**
 * Matches ranked per query: the first this many in index order are ranked and counted. Ranking
 * every match of a word most packages share cost 100-180 ms at 100,000 packages (measured); a
 * window keeps a search under 10 ms there, and a query that broad is refined, not paged through.
 */
export const SEARCH_WINDOW = 1000;

/**
 * Query of matching ids, ranked within {@link SEARCH_WINDOW}; bind the {@link ftsQuery} text, the
 * lower-cased raw text (the exact-id match), the limit and the offset
 */
export function packageIndexSearch(table: string): string {
  return `SELECT id FROM (
      SELECT id, bm25(${table}, ${WEIGHTS.map((w) => w.toFixed(1)).join(", ")}) AS score FROM ${table}
      WHERE ${table} MATCH ? LIMIT ${SEARCH_WINDOW})
    ORDER BY (id = ?) DESC, score, id LIMIT ? OFFSET ?`;
}

/** How many rows match, counted up to {@link SEARCH_WINDOW}; bind the {@link ftsQuery} text */
export function packageIndexCount(table: string): string {
  return `SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${table} MATCH ? LIMIT ${SEARCH_WINDOW})`;
}

/** The words of a query: letters and digits, lower-cased, at most 16 */
export function queryWords(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, 16);
}

/**
 * Turn free text into an FTS5 query: every word required, the last one a prefix (the word being
 * typed). Whole words before it keep the query cheap: a prefix term materialises the list of every
 * row its expansions match (a 4-word id took 22 ms at 100,000 packages, 5 ms with one prefix).
 * Quoting defuses FTS syntax.
 */
export function ftsQuery(text: string): string {
  const words = queryWords(text);
  return words.map((t, i) => i === words.length - 1 ? `"${t}"*` : `"${t}"`).join(" ");
}
