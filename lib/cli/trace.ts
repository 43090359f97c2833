/**
 * `cnilab trace`: follow one packet hop by hop (lib/trace).
 * @module
 */
import { parseArgs } from "node:util";
import { listPodSandbox } from "../sandbox/mod.ts";
import {
  type EndpointSpec,
  type Probe,
  renderTrace,
  trace,
  TraceInterrupted,
  TraceRefused,
} from "../trace/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { LAB_TOOLS, requireRoot, requireTools } from "./env.ts";

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** `host`, a pod `namespace/name`, or a namespace name. */
function endpoint(spec: string, role: "from" | "to"): EndpointSpec {
  if (spec === "host") return { ns: "host", spec };
  if (role === "to" && IPV4.test(spec)) return { address: spec, spec };
  if (spec.includes("/")) {
    const [namespace, name] = spec.split("/", 2);
    const pod = listPodSandbox().find((s) => s.namespace === namespace && s.name === name);
    if (!pod) throw new UsageError(`no pod ${spec} (cnilab pod ls lists them)`);
    return { ns: pod.netns.name, pod: spec, spec };
  }
  if (role === "to" && /^[\d.:]+$/.test(spec)) throw new UsageError(`${spec} is not an IPv4 address`);
  return { ns: spec, spec };
}

function probeOf(values: { icmp?: boolean; tcp?: string; udp?: string }): Probe {
  const chosen = [values.icmp, values.tcp, values.udp].filter((v) => v !== undefined).length;
  if (chosen > 1) throw new UsageError("choose one of --icmp, --tcp PORT, --udp PORT");
  const port = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      throw new UsageError(`${JSON.stringify(v)} is not a port`);
    }
    return n;
  };
  if (values.tcp !== undefined) return { protocol: "tcp", port: port(values.tcp) };
  if (values.udp !== undefined) return { protocol: "udp", port: port(values.udp) };
  return { protocol: "icmp" };
}

/** `cnilab trace` */
export const traceCommand: Command = {
  name: "trace",
  summary: "follow one packet hop by hop (veth, bridge, NAT), say where it dies",
  usage: `usage: cnilab trace <from> <to> [--icmp | --tcp PORT | --udp PORT]
                    [--json] [--pcap FILE]

  from   host, a pod (namespace/name: cnilab pod ls) or a namespace cnilab made
  to     an IPv4 address, a pod or a namespace (its eth0 address)

Computes the path from the kernel (ip route get in each namespace, and the
topology cnilab show draws: veth pairs, bridges, ports), runs tcpdump on every
interface of it inside that interface's namespace, sends ONE probe (ping;
busybox nc for --tcp; bash's /dev/udp for --udp), waits for the answer (1 s),
stops the captures and prints each sighting in time order: hop,
namespace/interface, µs since the first packet, src → dst IP and TTL,
src → dst MAC, and what happened there (ARP asked and answered by whom, the
bridge's forwarding decision from its FDB, NAT from conntrack, delivered).
The source first forgets its neighbour entry for the next hop, so ARP shows.

When the packet dies it says where it was last seen and why, from what it
read there: an interface down, no route, ARP unanswered, not forwarded by the
bridge, dropped by a firewall rule (its counter grew).

Only loopback and addresses inside namespaces cnilab made (or on its marked
bridges) are traced; anything else is refused before a packet is sent.
Nothing is left behind: no capture runs on, no file is written but --pcap's.

  --icmp        an ICMP echo (the default)
  --tcp PORT    a TCP connection attempt (a SYN-ACK or RST answers)
  --udp PORT    one UDP datagram (an answer, or ICMP port unreachable)
  --json        the report as data (TraceReport in lib/trace/mod.ts)
  --pcap FILE   also write every frame to one pcapng, one interface per hop

Exit: 0 answered, 1 the packet died (its cause printed), 2 refused or bad input.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        icmp: { type: "boolean" },
        tcp: { type: "string" },
        udp: { type: "string" },
        json: { type: "boolean" },
        pcap: { type: "string" },
      },
    });
    if (positionals.length !== 2) throw new UsageError("usage: cnilab trace <from> <to> (see --help)");
    requireRoot();
    requireTools(LAB_TOOLS.filter((t) => ["ip", "nsenter", "ping", "busybox", "tcpdump"].includes(t.name)));
    const probe = probeOf(values);
    try {
      const report = await trace({
        from: endpoint(positionals[0], "from"),
        to: endpoint(positionals[1], "to"),
        probe,
        pcap: values.pcap,
      });
      console.log(values.json ? JSON.stringify(report, null, 2) : renderTrace(report));
      return report.outcome.replied ? Exit.Ok : Exit.CheckFailed;
    } catch (e) {
      if (e instanceof TraceRefused) throw new UsageError(e.message);
      if (e instanceof TraceInterrupted) {
        console.error(`cnilab trace: ${e.message}`);
        return e.signal === "SIGINT" ? 130 : 143;
      }
      // a capture that could not start, a command that failed: one line, not a stack trace
      if (e instanceof Error) throw new UsageError(e.message);
      throw e;
    }
  },
};
