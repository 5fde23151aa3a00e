/**
 * The registry's web pages in a real browser (issue 17): the home page's search finds a package,
 * its page shows the install command, versions with the yanked mark, sha256, signer and owner
 * fingerprints, dependencies and the README rendered; a publisher's `<script>` in a description
 * or README and a Markdown link to `javascript:` do nothing. Real server, real CLI publishes,
 * Debian's Chromium driven by puppeteer-core.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, CHROMIUM, launchBrowser } from "./browser.ts";
import { startCentral } from "./central_helpers.ts";
import { ggen, tempDir, writePackage } from "./helpers.ts";
import { recordFigure } from "./figures.ts";

/** What the page's elements show (the test compiles without the DOM types) */
type Shown = { innerText: string };

const README = `# Good templates

Templates for **services**, with a [guide](https://example.org/guide).

\`\`\`sh
ggen install io.pages.good
\`\`\`

| a | b |
|---|---|
| 1 | 2 |
`;

const EVIL_README = `# Evil

<script>window.__xss = "readme script"</script>
<img src="x" onerror="window.__xss = 'img onerror'">
[click me](javascript:window.__xss='javascript link')
<a href="javascript:window.__xss='raw link'">raw link</a>
<iframe src="https://example.org"></iframe>
<p style="position:fixed" onclick="window.__xss='onclick'">styled</p>
`;

Deno.test({
  name: "registry pages in Chromium: search, package page with install command, versions, README; no XSS",
  ignore: !CHROMIUM,
  async fn() {
    await using work = await tempDir();
    const central = await startCentral(work.path);
    try {
      const publisher = join(work.path, "publisher");
      const publish = async (dir: string, readme: string) => {
        await Deno.writeTextFile(join(dir, "README.md"), readme);
        const r = await ggen(["publish", dir], { home: publisher, env: central.env });
        assert.equal(r.code, 0, r.stderr);
      };
      const lib = await writePackage(join(work.path, "lib"), { id: "io.pages.lib", version: "2.0.0" });
      await publish(lib, "# lib\n");
      for (const version of ["1.0.0", "1.1.0"]) {
        const dir = await writePackage(join(work.path, `good-${version}`), {
          id: "io.pages.good",
          version,
          description: "Service templates for the pages test",
          tags: ["service", "rest"],
          deps: { "io.pages.lib": "^2.0.0" },
        });
        await publish(dir, README);
      }
      const yank = await ggen(["yank", "io.pages.good@1.0.0"], { home: publisher, env: central.env });
      assert.equal(yank.code, 0, yank.stderr);
      const evil = await writePackage(join(work.path, "evil"), {
        id: "io.pages.evil",
        version: "1.0.0",
        description: "<script>window.__xss = 'description'</script> & friends",
      });
      await publish(evil, EVIL_README);

      await using browser = await launchBrowser();
      const page = await browser.newPage();
      const base = central.server.url;
      const text = (selector: string) => page.$eval(selector, (e) => (e as unknown as Shown).innerText);
      const texts = (selector: string) =>
        page.$$eval(selector, (es) => es.map((e) => (e as unknown as Shown).innerText));
      const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

      // Home: the count and the packages, a search form
      const home = await page.goto(`${base}/`);
      assert.equal(home?.status(), 200);
      assert.match(home?.headers()["content-security-policy"] ?? "", /default-src 'none'/);
      assert.match(await text("main"), /3 packages on this registry/);
      await shot("registry-home");

      // Search as a user would: type, submit, follow the result
      await page.type("input[name=q]", "service");
      await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
      assert.match(page.url(), /\/search\?q=service$/);
      const results = await texts("ul.hits li");
      assert.equal(results.length, 1, results.join("\n"));
      assert.match(results[0]!, /io\.pages\.good/);
      await shot("registry-search");
      await Promise.all([page.waitForNavigation(), page.click("ul.hits a")]);
      assert.match(page.url(), /\/packages\/io\.pages\.good$/);

      // The package page
      assert.equal(await text("pre.install"), "ggen install io.pages.good");
      const rows = await texts("table.versions tbody tr");
      assert.equal(rows.length, 2);
      assert.match(rows[0]!, /^1\.1\.0/);
      assert.match(rows[1]!, /^1\.0\.0 \(yanked\)/);
      assert.equal((await page.$$("table.versions tr.yanked")).length, 1);
      const info = await (await fetch(`${base}/api/v1/packages/io.pages.good`)).json();
      assert.match(rows[0]!, new RegExp(info.versions.at(-1).sha256));
      assert.match(rows[0]!, /SHA256:/, "the signer's fingerprint is shown");
      assert.ok((await text("main")).includes(info.owners[0].keyid), "the owner's fingerprint is shown");
      assert.equal(await text("main a[href='/packages/io.pages.lib']"), "io.pages.lib");
      // The README, rendered: a heading, a table, a code block, a link that leaves without a referrer
      assert.equal(await text(".readme h1"), "Good templates");
      assert.equal((await page.$$(".readme table td")).length, 2);
      assert.match(await text(".readme pre code"), /ggen install io\.pages\.good/);
      assert.equal(await page.$eval(".readme a", (a) => a.getAttribute("rel")), "nofollow noopener noreferrer");
      await shot("registry-package");

      // A hostile publisher: every script stays text or is dropped, and clicking does nothing
      const evilPage = await page.goto(`${base}/packages/io.pages.evil`);
      assert.equal(evilPage?.status(), 200);
      assert.ok((await text("main")).includes("<script>window.__xss = 'description'</script> & friends"));
      assert.equal((await page.$$("script, iframe, [onerror], [onclick], [style]")).length, 0);
      const hrefs = await page.$$eval(".readme a", (as) => as.map((a) => a.getAttribute("href") ?? ""));
      assert.ok(hrefs.every((h) => !h.startsWith("javascript:")), hrefs.join(", "));
      for (const link of await page.$$(".readme a")) await link.click().catch(() => {});
      await page.click(".readme p");
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: string }).__xss), undefined);
      await shot("registry-hostile-package");
      await recordFigure(
        "registry-pages",
        "a description holding `<script>`, a README with `<script>`, an `onerror` image, `javascript:` links (Markdown " +
          "and raw), an iframe and a style attribute: 0 scripts ran after clicking every link, 0 script, iframe, " +
          "handler or style elements on the page, the description shown as text",
      );

      // Paths that are not pages are the API's 404; an unknown package is a page's 404
      assert.equal((await page.goto(`${base}/packages/io.pages.none`))?.status(), 404);
      const api404 = await fetch(`${base}/nothing/here`);
      assert.equal(api404.status, 404);
      await api404.body?.cancel();
    } finally {
      await central.stop();
    }
  },
});
