/**
 * The registry's web pages, beside its API (as crates.io's or Verdaccio's): a home page with
 * search, search results, and a page per package (versions with yanked marks, the README,
 * sha256, signatures and owner keys, dependencies, the install command). Server-rendered HTML
 * with no script at all, under a Content-Security-Policy that allows none; every text that
 * came from a publisher is escaped, the README sanitised (see readme.ts).
 * @module
 */
import {
  fingerprint,
  fromBase64,
  isValidPackageId,
  type Logger,
  type PackageInfo,
  type PackageVersion,
} from "../../core/mod.ts";
import { createReadmes } from "./readme.ts";
import type { BlobStore, MetadataStore } from "./storage.ts";

/** Results per search page */
const PAGE_SIZE = 20;
/** Deepest search page offered (the store ranks the first 1,000 matches) */
const MAX_OFFSET = 1000;

/** No script, no plugin, no framing; styles and images from the registry (README images over https) */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; " +
  "base-uri 'none'; frame-ancestors 'none'";

/** Text as HTML: nothing a publisher wrote is ever markup */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --accent: #0b5cad; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --accent: #4493f8; } }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); margin: 0; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0.75rem 1rem; }
header { display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid var(--line); }
header a.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
form.search { display: flex; flex: 1; gap: 0.5rem; }
form.search input { flex: 1; padding: 0.4rem 0.6rem; font: inherit; }
a { color: var(--accent); }
ul.hits { list-style: none; padding: 0; } ul.hits li { padding: 0.6rem 0; border-bottom: 1px solid var(--line); }
.muted, footer { color: var(--muted); font-size: 0.9rem; }
code, pre, .mono { font-family: ui-monospace, monospace; font-size: 0.9rem; }
pre { overflow-x: auto; padding: 0.75rem; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 0.3rem 0.5rem;
  border-bottom: 1px solid var(--line); vertical-align: top; }
td.mono { word-break: break-all; }
.yanked { text-decoration: line-through; color: var(--muted); }
.tag { display: inline-block; padding: 0 0.4rem; margin-right: 0.3rem; border: 1px solid var(--line); border-radius: 1rem; }
.install { font-size: 1rem; }
.readme img { max-width: 100%; }
`;

/** The registry's pages */
export interface RegistryPages {
  /** The page for a GET or HEAD outside the API, or undefined when the path is not a page */
  serve(req: Request, url: URL): Promise<Response | undefined>;
}

/** Create the pages of a registry */
export function createRegistryPages(
  components: { metadata: MetadataStore; blobs: BlobStore; logger: Logger },
): RegistryPages {
  const { metadata } = components;
  const readmes = createReadmes(components);
  const log = components.logger.child("pages");

  const page = (title: string, body: string, query = "", status = 200): Response =>
    new Response(
      `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ggen registry</title><link rel="stylesheet" href="/assets/registry.css"></head>
<body><header><a class="brand" href="/">ggen registry</a>
<form class="search" action="/search" method="get" role="search">
<input type="search" name="q" value="${escapeHtml(query)}" placeholder="Search packages" aria-label="Search packages">
<button type="submit">Search</button></form></header>
<main>${body}</main>
<footer>Packages are signed by their publishers; <code>ggen install</code> verifies every signature and sha256.
API under <a href="/api/v1/search?q=">/api/v1</a>.</footer></body></html>
`,
      {
        status,
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": PAGE_CSP,
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
          "cache-control": "no-cache",
        },
      },
    );

  const hitList = (hits: { id: string; version: string; description: string; tags: string[] }[]) =>
    `<ul class="hits">${
      hits.map((h) =>
        `<li><a href="/packages/${encodeURIComponent(h.id)}"><strong>${escapeHtml(h.id)}</strong></a> ` +
        `<span class="muted">${escapeHtml(h.version)}</span><br>${escapeHtml(h.description)}<br>` +
        h.tags.map((t) => `<span class="tag">${escapeHtml(t)}</span>`).join("") + `</li>`
      ).join("")
    }</ul>`;

  async function home(): Promise<Response> {
    const { total, hits } = await metadata.search("", PAGE_SIZE, 0);
    return page(
      "Home",
      `<h1>ggen packages</h1><p class="muted">${total} package${total === 1 ? "" : "s"} on this registry.</p>` +
        hitList(hits),
    );
  }

  async function search(url: URL): Promise<Response> {
    const q = (url.searchParams.get("q") ?? "").slice(0, 256);
    const offset = Math.min(MAX_OFFSET, Math.max(0, Math.trunc(Number(url.searchParams.get("offset")) || 0)));
    const { total, hits } = await metadata.search(q, PAGE_SIZE, offset);
    const link = (at: number, text: string) =>
      `<a href="/search?q=${encodeURIComponent(q)}&amp;offset=${at}">${text}</a>`;
    const nav = [
      offset > 0 ? link(Math.max(0, offset - PAGE_SIZE), "Previous") : "",
      offset + PAGE_SIZE < Math.min(total, MAX_OFFSET) ? link(offset + PAGE_SIZE, "Next") : "",
    ].filter(Boolean).join(" · ");
    const summary = hits.length
      ? `${total} result${total === 1 ? "" : "s"} for <q>${escapeHtml(q)}</q>` +
        (total > PAGE_SIZE ? ` (${offset + 1}–${offset + hits.length})` : "")
      : `No package matches <q>${escapeHtml(q)}</q>.`;
    return page(`Search: ${q}`, `<h1>Search</h1><p class="muted">${summary}</p>${hitList(hits)}<p>${nav}</p>`, q);
  }

  async function packagePage(id: string): Promise<Response> {
    const info = isValidPackageId(id) ? await metadata.getPackage(id) : undefined;
    if (!info) {
      return page("Not found", `<h1>Not found</h1><p>No package <code>${escapeHtml(id)}</code> here.</p>`, "", 404);
    }
    const shown = latestShown(info);
    const owners = await metadata.getOwners(id);
    const readme = await readmes.get(shown.sha256).catch((err) => {
      log.warn(`README of ${id}@${shown.version}: ${(err as Error).message}`);
      return undefined;
    });
    const deps = Object.entries(shown.dependencies);
    const versions = [...info.versions].reverse().map((v) =>
      `<tr${v.yanked ? ' class="yanked"' : ""}><td>${escapeHtml(v.version)}${v.yanked ? " (yanked)" : ""}</td>` +
      `<td>${escapeHtml(v.published_at.slice(0, 10))}</td><td>${v.size} B</td>` +
      `<td class="mono" title="sha256">${escapeHtml(v.sha256)}</td>` +
      `<td class="mono">${v.publisher_key ? escapeHtml(publisherOf(v.publisher_key)) : "unsigned"}</td></tr>`
    ).join("");
    const body = `<h1>${escapeHtml(info.name)} <span class="muted">${escapeHtml(shown.version)}</span></h1>
<p class="mono">${escapeHtml(id)}</p><p>${escapeHtml(info.description)}</p>
<p>${shown.tags.map((t) => `<span class="tag">${escapeHtml(t)}</span>`).join("")}</p>
<h2>Install</h2><pre class="install"><code>ggen install ${escapeHtml(id)}</code></pre>
<h2>Versions</h2><table class="versions"><thead><tr><th>version</th><th>published</th><th>size</th><th>sha256</th>
<th>signed by</th></tr></thead><tbody>${versions}</tbody></table>
<h2>Dependencies</h2>${
      deps.length
        ? `<ul>${
          deps.map(([d, r]) =>
            `<li><a href="/packages/${encodeURIComponent(d)}">${escapeHtml(d)}</a> <code>${escapeHtml(r)}</code></li>`
          ).join("")
        }</ul>`
        : `<p class="muted">None.</p>`
    }
<h2>Owners</h2><ul>${owners.map((o) => `<li class="mono">${escapeHtml(o.keyid)}</li>`).join("")}</ul>
<p class="muted">The registry signs this package's metadata; <code>ggen</code> checks that signature and each
publisher's.</p>
<h2>README</h2>${
      readme
        ? `<article class="readme">${readme.html}</article>${
          readme.truncated ? `<p class="muted">The README is longer than this page shows.</p>` : ""
        }`
        : `<p class="muted">This version has no README.</p>`
    }`;
    return page(`${info.name} (${id})`, body);
  }

  return {
    async serve(req, url) {
      if (req.method !== "GET" && req.method !== "HEAD") return undefined;
      const path = url.pathname;
      if (path === "/assets/registry.css") {
        return new Response(CSS, {
          headers: { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" },
        });
      }
      if (path === "/") return await home();
      if (path === "/search") return await search(url);
      const m = /^\/packages\/([^/]{1,300})$/.exec(path);
      if (m) {
        let id: string;
        try {
          id = decodeURIComponent(m[1]!);
        } catch {
          id = m[1]!;
        }
        return await packagePage(id);
      }
      return undefined;
    },
  };
}

/** The version a page shows: the newest not yanked, else the newest */
function latestShown(info: PackageInfo): PackageVersion {
  const live = info.versions.filter((v) => !v.yanked);
  return (live.at(-1) ?? info.versions.at(-1))!;
}

/** The fingerprint of a publisher key (base64 raw Ed25519), as `ggen trust` shows it */
function publisherOf(publicKey: string): string {
  try {
    return fingerprint(fromBase64(publicKey));
  } catch {
    return "(unreadable key)";
  }
}
