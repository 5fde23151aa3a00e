/**
 * The dashboard's page and the files it loads, a module of their own: the daemon loads it on the
 * first request for them (src/p2p/dashboard/server.ts), so a daemon whose dashboard nobody opens
 * does not hold them, and the commands' code does not carry them (cytoscape alone is 0.44 MB of
 * source and a 0.88 MB string in the heap).
 * @module
 */
import html from "./assets/index.html" with { type: "text" };
import appJs from "./assets/app.js" with { type: "text" };
import appCss from "./assets/app.css" with { type: "text" };
import cytoscapeJs from "cytoscape/dist/cytoscape.esm.min.mjs" with { type: "text" };

/** The dashboard's page, served at `/ui/` */
export const DASHBOARD_PAGE: string = html;

/** The files the page loads, by path */
export const DASHBOARD_FILES: Readonly<Record<string, { body: string; type: string }>> = {
  "/ui/app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
  "/ui/app.css": { body: appCss, type: "text/css; charset=utf-8" },
  "/ui/cytoscape.mjs": { body: cytoscapeJs, type: "text/javascript; charset=utf-8" },
};
