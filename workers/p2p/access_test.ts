import assert from "node:assert/strict";
import { createAccessGate, type InboundConnection, ipOf } from "./access.ts";

function conn(addr: string): InboundConnection & { close(): void } {
  const target = new EventTarget();
  return {
    remoteAddr: { toString: () => addr } as InboundConnection["remoteAddr"],
    addEventListener: target.addEventListener.bind(target) as InboundConnection["addEventListener"],
    close: () => target.dispatchEvent(new Event("close")),
  };
}

Deno.test("access gate: per-IP cap counts open connections and frees them on close", () => {
  const gate = createAccessGate({ isBanned: () => false }, {
    maxConnectionsPerIp: 2,
    allowPeers: [],
    denyPeers: [],
    allowRanges: [],
    denyRanges: [],
  });
  const a = conn("/ip4/10.0.0.1/tcp/1");
  const b = conn("/ip4/10.0.0.1/tcp/2");
  assert.equal(gate.denyInbound(a), false);
  assert.equal(gate.denyInbound(b), false);
  assert.equal(gate.denyInbound(conn("/ip4/10.0.0.1/tcp/3")), true);
  assert.equal(gate.denyInbound(conn("/ip4/10.0.0.2/tcp/3")), false, "another address has its own share");
  a.close();
  assert.equal(gate.openFrom("10.0.0.1"), 1);
  assert.equal(gate.denyInbound(conn("/ip4/10.0.0.1/tcp/4")), false);
  assert.equal(gate.denied(), 1);
});

Deno.test("access gate: allow and deny lists of peers and ranges, and bans", () => {
  const banned = new Set(["12D3KooWbanned"]);
  const gate = createAccessGate({ isBanned: (p) => banned.has(p) }, {
    maxConnectionsPerIp: 8,
    allowPeers: [],
    denyPeers: ["12D3KooWdenied"],
    allowRanges: ["192.168.0.0/16", "127.0.0.0/8"],
    denyRanges: ["192.168.66.0/24"],
  });
  assert.equal(gate.peerAllowed("12D3KooWanyone"), true);
  assert.equal(gate.peerAllowed("12D3KooWdenied"), false);
  assert.equal(gate.peerAllowed("12D3KooWbanned"), false);
  assert.equal(gate.addressAllowed("192.168.1.5"), true);
  assert.equal(gate.addressAllowed("192.168.66.5"), false, "deny wins over allow");
  assert.equal(gate.addressAllowed("8.8.8.8"), false, "outside every allowed range");
  assert.equal(gate.denyInbound(conn("/ip4/8.8.8.8/tcp/1")), true);
  assert.equal(ipOf("/ip6/::1/tcp/4001"), "::1");
  assert.equal(ipOf("/dns4/example.com/tcp/1"), "");
});
