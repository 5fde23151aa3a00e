// The dashboard in the browser: one EventSource of snapshots, drawn with cytoscape and plain DOM.
// Everything shown came from peers: it goes into the page as text (textContent), never as markup.
// The graph library is served by the daemon beside this file (a path only the browser resolves)
const library = "/ui/cytoscape.mjs";
const { default: cytoscape } = await import(library);

const COLORS = {
  self: "#24292f",
  mdns: "#1f883d",
  bootstrap: "#0969da",
  dht: "#8250df",
  inbound: "#bf8700",
  dial: "#57606a",
  banned: "#cf222e",
};

const $ = (id) => document.getElementById(id);
const short = (id) => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
const bytes = (n) =>
  n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.append(c instanceof Node ? wrap(c) : el("td", c));
  return tr;
}

function wrap(node) {
  const td = document.createElement("td");
  td.append(node);
  return td;
}

const cy = cytoscape({
  container: $("graph"),
  maxZoom: 1.2,
  style: [
    {
      selector: "node",
      style: {
        "background-color": "data(color)",
        label: "data(label)",
        "font-size": 9,
        "text-valign": "bottom",
        "text-margin-y": 3,
        color: "#888",
        width: "data(size)",
        height: "data(size)",
      },
    },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "line-color": "#999",
        label: "data(label)",
        "font-size": 7,
        color: "#888",
        "text-rotation": "autorotate",
        "text-margin-y": -6,
      },
    },
  ],
  layout: { name: "concentric" },
});

let topology = "";

function drawGraph(state) {
  const self = state.status.peerId;
  const peers = state.peers;
  const banned = state.banned.filter((id) => !peers.some((p) => p.peerId === id));
  const wanted = new Map([[self, { id: self, label: `this node ${short(self)}`, color: COLORS.self, size: 26 }]]);
  for (const p of peers) {
    wanted.set(p.peerId, {
      id: p.peerId,
      label: short(p.peerId),
      color: COLORS[p.source] ?? COLORS.dial,
      size: Math.max(10, Math.min(30, 16 + p.score)),
      source: p.source,
    });
  }
  for (const id of banned) wanted.set(id, { id, label: short(id), color: COLORS.banned, size: 10 });
  for (const n of cy.nodes()) if (!wanted.has(n.id())) cy.remove(n);
  for (const [id, data] of wanted) {
    const node = cy.getElementById(id);
    if (node.empty()) cy.add({ group: "nodes", data });
    else node.data(data);
  }
  for (const p of peers) {
    const edgeId = `e-${p.peerId}`;
    const label = p.latencyMs === null ? "" : `${Math.round(p.latencyMs)} ms`;
    const edge = cy.getElementById(edgeId);
    if (edge.empty()) cy.add({ group: "edges", data: { id: edgeId, source: self, target: p.peerId, label } });
    else edge.data("label", label);
  }
  // What the graph holds, readable without the canvas (tests, assistive tools)
  $("graph").dataset.nodes = cy.nodes().map((n) => n.id()).join(" ");
  const now = [...wanted.keys()].sort().join(",");
  if (now !== topology) {
    topology = now;
    cy.layout({
      name: "concentric",
      concentric: (n) => (n.id() === self ? 2 : 1),
      levelWidth: () => 1,
      minNodeSpacing: 70,
      padding: 30,
    }).run();
  }
}

function figures(state) {
  const s = state.status;
  const items = [
    ["peers", s.peerCount],
    ["routing table", s.routingTableSize],
    ["provided", s.providedPackages],
    ["catalog", s.catalogSize],
    ["received", bytes(s.bytesIn)],
    ["sent", bytes(s.bytesOut)],
    ["upload limit", s.uploadLimit ? `${bytes(s.uploadLimit)}/s` : "none"],
    ["download limit", s.downloadLimit ? `${bytes(s.downloadLimit)}/s` : "none"],
    ["uptime", `${Math.round(s.uptimeMs / 1000)} s`],
    ["banned", state.banned.length],
  ];
  $("figures").replaceChildren(...items.map(([k, v]) => {
    const d = el("div");
    d.dataset.figure = k;
    d.append(el("b", v), el("span", k, { class: "muted" }));
    return d;
  }));
}

function tables(state) {
  $("peers").tBodies[0].replaceChildren(...state.peers.map((p) =>
    row([
      el("span", short(p.peerId), { title: p.peerId, class: "mono" }),
      p.source,
      p.latencyMs === null ? "—" : `${Math.round(p.latencyMs)} ms`,
      p.score,
      el("span", p.address, { class: "mono", title: p.address }),
    ])
  ));
  const max = Math.max(1, ...state.status.routingBuckets);
  $("buckets").replaceChildren(
    ...state.status.routingBuckets.map((n, i) => {
      const d = el("div", undefined, { class: "bucket" });
      d.append(el("span", `k${i}`), el("meter", undefined, { min: 0, max, value: n }), el("b", n));
      return d;
    }).filter((_, i) => state.status.routingBuckets[i] > 0),
  );
  const now = Date.now();
  $("transfers").tBodies[0].replaceChildren(...state.transfers.map((t) => {
    const seconds = Math.max(0.001, (now - t.startedAt) / 1000);
    const bar = el("progress", undefined, { max: t.size, value: t.bytes });
    const tr = row([
      t.direction === "upload" ? "↑" : "↓",
      el("span", short(t.peerId), { title: t.peerId, class: "mono" }),
      el("span", t.sha256.slice(0, 12), { class: "mono", title: t.sha256 }),
      bar,
      `${bytes(Math.round(t.bytes / seconds))}/s`,
    ]);
    tr.dataset.sha256 = t.sha256;
    return tr;
  }));
  $("held").replaceChildren(...state.held.map((h) => {
    const li = el("li", h.names.length ? h.names.join(", ") : "(name unknown)");
    li.append(" ", el("span", h.sha256.slice(0, 12), { class: "mono muted", title: h.sha256 }));
    return li;
  }));
  $("announcements").replaceChildren(...state.announcements.map((a) => {
    const li = el("li", `${a.package_id}@${a.version}`);
    li.append(el("span", ` from ${short(a.from)} at ${new Date(a.at).toLocaleTimeString()}`, { class: "muted" }));
    return li;
  }));
  $("events").replaceChildren(...state.events.map((e) => {
    const li = el("li", `${new Date(e.at).toLocaleTimeString()} ${e.backend}: ${e.message}`);
    li.dataset.kind = e.kind;
    return li;
  }));
}

function render(state) {
  $("self").textContent = state.status.peerId;
  figures(state);
  drawGraph(state);
  tables(state);
  document.body.dataset.peers = String(state.peers.length);
  document.body.dataset.transfers = String(state.transfers.length);
}

const events = new EventSource("/ui/events");
events.addEventListener("state", (e) => {
  $("live").textContent = "live";
  render(JSON.parse(e.data));
});
events.addEventListener("error", () => {
  $("live").textContent = "reconnecting…";
});
