/**
 * mDNS discovery across network namespaces (issue 14): two daemons in their own namespaces on one
 * virtual LAN, timed from listening to the mDNS peer event in the first one's log, three times; a
 * daemon that does not stop on SIGINT is counted. Part of `deno task bench:p2p`.
 * @module
 */
import { join } from "node:path";
import { createHosts, ggenInHost, netnsUnavailable } from "../tests/netns.ts";
import { createRecorder } from "./p2p_common.ts";
import { median, type ResultRow } from "./results_section.ts";

/** Measure into `rows`, with the daemons' homes under `work` */
export async function measureMdnsDiscovery(work: string, rows: ResultRow[]): Promise<void> {
  const record = createRecorder(rows);
  const unavailable = await netnsUnavailable();
  if (unavailable) {
    rows.push({ measure: "mDNS discovery", budget: "< 500 ms", value: `not measured: ${unavailable}`, ok: undefined });
  } else {
    const times: number[] = [];
    let unstopped = 0;
    for (let trial = 0; trial < 3; trial++) {
      await using hosts = await createHosts(2);
      const children: Deno.ChildProcess[] = [];
      for (const [i, ns] of hosts.names.entries()) {
        const home = join(work, `mdns${trial}-${i}`);
        await Deno.mkdir(home);
        children.push(
          ggenInHost(ns, ["p2p", "start", "--json", "-v", "--listen", `/ip4/${hosts.address(i)}/tcp/0`], {
            env: { GGEN_HOME: home, GGEN_MDNS: "1" },
            // Only the first node's log is read: another's must not fill a pipe nobody drains
            stderr: i === 0 ? "piped" : "null",
          }).spawn(),
        );
      }
      // Time from the node listening to the mDNS peer event, both read from the node's own log
      const reader = children[0]!.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      let listenAt = 0;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        // A node that logs nothing more must not hold the bench past the deadline
        let timer: ReturnType<typeof setTimeout> | undefined;
        const { done, value } = await Promise.race([
          reader.read(),
          new Promise<{ done: true; value: undefined }>((r) =>
            timer = setTimeout(() => r({ done: true, value: undefined }), Math.max(0, deadline - Date.now()))
          ),
        ]);
        clearTimeout(timer);
        if (done) break;
        text += value;
        if (!listenAt && /listening on/.test(text)) listenAt = performance.now();
        if (listenAt && /discovered .* via mdns/.test(text)) {
          times.push(performance.now() - listenAt);
          break;
        }
      }
      reader.releaseLock();
      for (const c of children) c.kill("SIGINT");
      await children[0]!.stderr.cancel().catch(() => {});
      // A daemon must stop on SIGINT; one that does not is counted (and killed), never waited for
      for (const c of children) {
        const timer = setTimeout(() => {
          unstopped++;
          c.kill("SIGKILL");
        }, 10_000);
        await c.status;
        clearTimeout(timer);
      }
    }
    rows.push({
      measure: "mDNS daemons that did not stop within 10 s of SIGINT (killed)",
      budget: "0",
      value: String(unstopped),
      ok: unstopped === 0,
    });
    if (times.length) record(`mDNS discovery after listen, median of ${times.length}`, 500, median(times));
    else rows.push({ measure: "mDNS discovery", budget: "< 500 ms", value: "no discovery within 20 s", ok: false });
  }
}
