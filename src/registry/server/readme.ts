/**
 * A package's README for its registry page: read from the newest version's tarball (the root
 * README.md, README.markdown or README), rendered from Markdown with marked and sanitised with
 * sanitize-html, kept per tarball digest. Publishers are strangers: raw HTML, scripts, event
 * handlers, `javascript:` links and styles never reach the page.
 * @module
 */
import { Marked } from "marked";
// @ts-types="npm:@types/sanitize-html@2.16.2"
import sanitizeHtml from "sanitize-html";
import { readRootText } from "../../archive/mod.ts";
import type { BlobStore } from "./storage.ts";

/** Largest README rendered (the rest is cut, and the page says so) */
export const MAX_README_BYTES = 256 * 1024;
/** Rendered READMEs kept, by tarball digest */
const CACHED_READMES = 256;

const README_NAMES = /^readme(\.md|\.markdown)?$/i;

const markdown = new Marked({ gfm: true, async: false });

/** Tags and attributes a README may use: text formatting, links, images, tables, code */
const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, "img", "del", "input"],
  allowedAttributes: {
    a: ["href", "title", "rel"],
    img: ["src", "alt", "title", "width", "height"],
    code: ["class"],
    th: ["align"],
    td: ["align"],
    input: ["type", "checked", "disabled"],
  },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["http", "https"] },
  allowProtocolRelative: false,
  // Links leave the registry: the target site learns nothing about the page and cannot script it
  transformTags: {
    a: sanitizeHtml.simpleTransform("a", { rel: "nofollow noopener noreferrer" }),
    input: (_tag, attribs) => ({ tagName: "input", attribs: { ...attribs, type: "checkbox", disabled: "" } }),
  },
  allowedClasses: { code: [/^language-[\w-]{1,32}$/] },
};

/** Markdown from a stranger as HTML safe to put in a page */
export function renderMarkdown(text: string): string {
  return sanitizeHtml(markdown.parse(text) as string, SANITIZE);
}

/** A rendered README and whether it was cut at {@link MAX_README_BYTES} */
export interface RenderedReadme {
  /** The file's name in the tarball */
  path: string;
  /** Sanitised HTML */
  html: string;
  /** The file was longer than what was rendered */
  truncated: boolean;
}

/** READMEs of tarballs in `blobs`, rendered once each */
export function createReadmes(components: { blobs: BlobStore }): {
  get(sha256: string): Promise<RenderedReadme | undefined>;
} {
  const cache = new Map<string, RenderedReadme | null>();
  return {
    async get(sha256) {
      const kept = cache.get(sha256);
      if (kept !== undefined) return kept ?? undefined;
      const stream = await components.blobs.open(sha256);
      if (!stream) return undefined;
      const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
      const file = await readRootText(bytes, (p) => README_NAMES.test(p), MAX_README_BYTES);
      const rendered = file ? { path: file.path, html: renderMarkdown(file.text), truncated: file.truncated } : null;
      if (cache.size >= CACHED_READMES) cache.delete(cache.keys().next().value!);
      cache.set(sha256, rendered);
      return rendered ?? undefined;
    },
  };
}
