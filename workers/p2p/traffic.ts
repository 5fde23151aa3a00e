/**
 * libp2p's own byte counts without Prometheus: a `metrics` component that counts what each
 * protocol stream sends and receives (the way `@libp2p/prometheus-metrics` does), so `p2p status`
 * shows the node's real traffic. Connections themselves are not wrapped: counting at that level
 * (noise and yamux framing included) kept a flooded node from making room for an honest peer
 * (tests/connection_flood_test.ts). When the daemon also serves Prometheus metrics, that
 * component sits behind this one and sees every call too.
 * @module
 */
import type { Metrics, Stream } from "@libp2p/interface";
import type { NetworkTraffic } from "../../src/p2p/mod.ts";

/** Protocols counted one by one; the rest (never expected: only handled ones negotiate) are summed */
const MAX_PROTOCOLS = 64;
/** Where the streams of protocols past {@link MAX_PROTOCOLS} are counted */
const OTHER = "other";

/** A libp2p `metrics` factory (what `createLibp2p({ metrics })` takes) */
// deno-lint-ignore no-explicit-any
export type MetricsFactory = (components: any) => Metrics;

/** The counting component and its totals */
export interface TrafficCounter {
  /** Hand to `createLibp2p({ metrics })` */
  readonly libp2p: MetricsFactory;
  /** Stream payload bytes so far, in total and per protocol */
  totals(): NetworkTraffic;
}

/** One object for every metric kind libp2p registers when no Prometheus registry keeps them */
const ignored = {
  update() {},
  increment() {},
  decrement() {},
  reset() {},
  observe() {},
  timer: () => () => {},
};

/** Count libp2p's traffic; `inner` (Prometheus) also gets every call when given */
export function createTrafficCounter(inner?: MetricsFactory): TrafficCounter {
  const protocols = new Map<string, { bytesIn: number; bytesOut: number }>();

  const count = (target: Stream, into: { bytesIn: number; bytesOut: number }) => {
    // Observe dispatched messages instead of adding a `message` listener: a listener would make
    // the stream hand out data before the protocol's own reader is attached (libp2p's note)
    const dispatchEvent = target.dispatchEvent.bind(target);
    target.dispatchEvent = (evt: Event) => {
      if (evt.type === "message") into.bytesIn += (evt as MessageEvent<{ byteLength: number }>).data.byteLength;
      return dispatchEvent(evt);
    };
    const send = target.send.bind(target);
    target.send = ((data: { byteLength: number }) => {
      into.bytesOut += data.byteLength;
      return send(data as Parameters<typeof send>[0]);
    }) as typeof target.send;
  };
  const perProtocol = (protocol: string) => {
    const key = protocols.has(protocol) || protocols.size < MAX_PROTOCOLS ? protocol : OTHER;
    let entry = protocols.get(key);
    if (!entry) protocols.set(key, entry = { bytesIn: 0, bytesOut: 0 });
    return entry;
  };

  const libp2p: MetricsFactory = (components) => {
    const behind = inner?.(components);
    /** A register method of Prometheus when kept, or one that hands out {@link ignored} */
    const register = <K extends keyof Metrics>(name: K): Metrics[K] =>
      ((...args: unknown[]) =>
        behind ? (behind[name] as (...a: unknown[]) => unknown).apply(behind, args) : ignored) as Metrics[K];
    const metrics: Metrics = {
      trackMultiaddrConnection(maConn) {
        behind?.trackMultiaddrConnection(maConn);
      },
      trackProtocolStream(stream) {
        if (stream.protocol) count(stream, perProtocol(stream.protocol));
        behind?.trackProtocolStream(stream);
      },
      registerMetric: register("registerMetric"),
      registerMetricGroup: register("registerMetricGroup"),
      registerCounter: register("registerCounter"),
      registerCounterGroup: register("registerCounterGroup"),
      registerHistogram: register("registerHistogram"),
      registerHistogramGroup: register("registerHistogramGroup"),
      registerSummary: register("registerSummary"),
      registerSummaryGroup: register("registerSummaryGroup"),
      // Without Prometheus a traced function is the function itself
      traceFunction: behind
        ? register("traceFunction")
        : ((_name: string, fn: unknown) => fn) as Metrics["traceFunction"],
      createTrace: () => behind?.createTrace(),
    };
    // libp2p starts and stops the components it was given that can
    const lifecycle = behind as Partial<{ start(): void | Promise<void>; stop(): void | Promise<void> }> | undefined;
    return Object.assign(metrics, {
      start: () => lifecycle?.start?.(),
      stop: () => lifecycle?.stop?.(),
    });
  };

  return {
    libp2p,
    totals: () => {
      const all = [...protocols.values()];
      return {
        bytesIn: all.reduce((n, t) => n + t.bytesIn, 0),
        bytesOut: all.reduce((n, t) => n + t.bytesOut, 0),
        protocols: Object.fromEntries([...protocols].map(([p, t]) => [p, { ...t }])),
      };
    },
  };
}
