/**
 * The shape of a trace, as `cnilab trace --json` prints it and a browser view draws it.
 * @module
 */

/** What the probe is. */
export type Probe = { protocol: "icmp" } | { protocol: "tcp"; port: number } | {
  protocol: "udp";
  port: number;
};

/** One end of a trace, resolved. */
export interface TraceEndpoint {
  /** What the user typed: `host`, `ns/name` (a pod), a namespace name, an address. */
  spec: string;
  /** `host` or the network namespace's name. */
  ns: string;
  /** The pod (`namespace/name`) when the end is one. */
  pod?: string;
  /** Its IPv4 address on the path (the source's is the kernel's route source). */
  address: string;
}

/** An interface the packet crosses, in path order (computed from the topology before anything is sent). */
export interface PathHop {
  /** 1-based position on the path. */
  hop: number;
  /** `host` or a namespace name. */
  ns: string;
  ifname: string;
  /** veth, bridge, … */
  kind?: string;
  /** What the interface is on this path. */
  role: "source" | "veth-peer" | "bridge" | "bridge-port" | "router" | "destination" | "loopback";
  mac?: string;
  up: boolean;
  addresses: string[];
  /** The bridge it is a port of. */
  master?: string;
}

/** One sighting of a packet of the trace on one hop, or what a bridge did with it. */
export interface HopEvent {
  hop: number;
  ns: string;
  ifname: string;
  /** µs since the trace's first packet left the source (kernel capture timestamps). */
  timeUs: number;
  /** `request`/`reply` for the probe and its answer, `arp` for address resolution. */
  direction: "request" | "reply" | "arp";
  macSrc: string;
  macDst: string;
  ipSrc: string;
  ipDst: string;
  ttl?: number;
  /** tcpdump-like one-liner: `ICMP echo request id 7 seq 1`, `ARP who-has 10.0.0.3 tell 10.0.0.2`. */
  summary: string;
  /** What happened there: `sent`, `ARP answered by ns/eth0`, `forwarded to veth… (FDB)`, `NAT: …`. */
  action: string;
  /** True for a bridge's forwarding decision, which no capture on the bridge device shows (see docs). */
  inferred?: boolean;
}

/** Where and why the packet died, from evidence read on the path. */
export interface TraceCause {
  kind:
    | "interface-down"
    | "no-route"
    | "arp-unanswered"
    | "not-forwarded-by-bridge"
    | "dropped-by-firewall"
    | "not-forwarded"
    | "no-reply"
    | "unknown";
  /** One line for people. */
  detail: string;
  /** Where the cause was found. */
  ns: string;
  ifname?: string;
  /** For a firewall drop: the rule and its counter. */
  rule?: { family: string; table: string; chain: string; handle: number; text: string; packets: number };
}

/** A source NAT seen on the path. */
export interface TraceNat {
  /** The namespace whose conntrack holds the translation. */
  ns: string;
  from: string;
  to: string;
  /** The conntrack entry, as /proc/net/nf_conntrack prints it. */
  conntrack?: string;
}

/** A whole trace: `cnilab trace --json`. */
export interface TraceReport {
  version: 1;
  from: TraceEndpoint;
  to: TraceEndpoint;
  probe: Probe;
  path: PathHop[];
  /** Every sighting, in time order. */
  events: HopEvent[];
  nat?: TraceNat;
  outcome: {
    /** The request reached the destination's interface. */
    delivered: boolean;
    /** The answer came back to the source. */
    replied: boolean;
    /** Request leaving the source → answer arriving there, µs. */
    rttUs?: number;
    /** The last hop that saw the request (when it died). */
    lastSeen?: { hop: number; ns: string; ifname: string };
    cause?: TraceCause;
  };
  /** How the captures were made. */
  capture: { tool: "tcpdump"; interfaces: number };
  durationMs: number;
  /**
   * Where the time went, ms: guard (ownership, addresses), path (routes, topology), evidence (neighbour,
   * firewall counters, FDB, conntrack, analysis), captures (start until listening, stop), probe.
   */
  phasesMs: Record<string, number>;
}
