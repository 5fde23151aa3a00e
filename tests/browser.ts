/**
 * A real Chromium for the web tests, driven by puppeteer-core: Debian's `/usr/bin/chromium`
 * (puppeteer's own download does not reach this network). Tests skip, printing the install
 * command, when no Chromium is installed; CI installs it. Screenshots go to tests/artifacts/.
 */
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { ROOT } from "./helpers.ts";

/** Where a Chromium is, if any */
export const CHROMIUM: string | undefined = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

if (!CHROMIUM) {
  console.error(
    "browser tests skipped: no Chromium (apt-get install -y --no-install-recommends chromium)",
  );
}

/** Where the tests keep their screenshots */
export const ARTIFACTS = join(ROOT, "tests", "artifacts");

/** Launch a headless Chromium; close it with `await using` */
export async function launchBrowser() {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM!,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    timeout: 30_000,
  });
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}
