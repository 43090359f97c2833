/**
 * The bridge plugin's configuration: the reference bridge's fields, parsed once into a typed
 * {@link BridgeConf} with errors that say what to fix.
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { hasControlChar, isObject, list, optBool, optInt, optObject, optStr } from "../../cni/fields.ts";
import type { Dns, IpamConfig, PluginConfig } from "../../cni/types.ts";
import type { PluginContext } from "../plugin.ts";

/** The bridge's configuration, defaults applied. */
export interface BridgeConf {
  network: string;
  /** Name of the host bridge (default `cni0`). */
  bridge: string;
  /** Put the gateway address on the bridge and enable forwarding (implied by isDefaultGateway). */
  isGateway: boolean;
  /** Add a default route via the gateway in the container. */
  isDefaultGateway: boolean;
  /** Replace a different address on the bridge instead of failing. */
  forceAddress: boolean;
  /** Masquerade traffic leaving the pod network. */
  ipMasq: boolean;
  /** MTU of the bridge (when created) and both veth ends; 0 = kernel default. */
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  /** The container interface's MAC: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC. */
  mac?: string;
  /** Sent to the IPAM plugin; absent = layer 2 only. */
  ipam?: IpamConfig;
  /** Replaces the IPAM plugin's DNS in the result when set. */
  dns?: Dns;
}

/**
 * Reference bridge fields cnilab does not implement: read with their type (wrong type → code 6), set to
 * something other than their default → code 2.
 */
const UNSUPPORTED: Record<string, (v: unknown, where: string) => boolean> = {
  vlan: (v, where) => (optInt(v, where) ?? 0) !== 0,
  vlanTrunk: (v, where) => list(v, where).length > 0,
  preserveDefaultVlan: (v, where) => optBool(v, where) === false,
  macspoofchk: (v, where) => optBool(v, where) === true,
  enabledad: (v, where) => optBool(v, where) === true,
  disableContainerInterface: (v, where) => optBool(v, where) === true,
  portIsolation: (v, where) => optBool(v, where) === true,
};

/**
 * A link name as the kernel takes it (1-15 bytes) and as it may safely reach an `ip` command line or a
 * sysfs path: no `/`, `:`, whitespace, NUL or other control characters, not `.` or `..` (code 7).
 */
export function checkLinkName(name: string, where: string): void {
  if (
    name === "" || new TextEncoder().encode(name).length > 15 || /[\/:\s]/.test(name) ||
    hasControlChar(name) ||
    name === "." || name === ".."
  ) {
    invalid(
      `invalid ${where} ${JSON.stringify(name)}`,
      "link names are 1-15 bytes without / : spaces or control characters, and not . or ..",
    );
  }
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function invalid(msg: string, details = ""): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

function bool(raw: PluginConfig, key: string): boolean {
  return optBool(raw[key], key) ?? false;
}

function macFrom(where: string, v: unknown): string | undefined {
  if (optStr(v, where) === undefined || v === "") return undefined;
  if (typeof v !== "string" || !MAC_RE.test(v)) {
    invalid(
      `invalid MAC address in ${where}: ${JSON.stringify(v)}`,
      `use six hex pairs, e.g. "0a:58:0a:f4:00:05"`,
    );
  }
  const first = parseInt(v.slice(0, 2), 16);
  if ((first & 1) === 1) invalid(`invalid MAC address in ${where}: ${v} is a multicast address`);
  return v.toLowerCase();
}

/** Parses the bridge's config from a plugin context (stdin already parsed by the skeleton). */
export function loadConf(ctx: PluginContext): BridgeConf {
  const raw = ctx.config;
  for (const [key, isSet] of Object.entries(UNSUPPORTED)) {
    if (raw[key] !== undefined && raw[key] !== null && isSet(raw[key], key)) {
      throw new CniError(
        ErrorCode.UnsupportedField,
        `cnilab-bridge does not support "${key}"`,
        `remove "${key}" from the config (use the reference bridge for it)`,
      );
    }
  }
  const bridge = optStr(raw.bridge, "bridge") ?? "cni0";
  checkLinkName(bridge, "bridge name");
  const mtu = optInt(raw.mtu, "mtu") ?? 0;
  if (mtu < 0 || mtu > 65535) {
    invalid(
      `failed to load netconf: "mtu" must be an integer between 68 and 65535`,
      `got ${JSON.stringify(mtu)}`,
    );
  }
  if (mtu !== 0 && mtu < 68) invalid(`invalid MTU ${mtu}`, "an MTU is at least 68");
  const isDefaultGateway = bool(raw, "isDefaultGateway");
  const conf: BridgeConf = {
    network: raw.name ?? "",
    bridge,
    isDefaultGateway,
    isGateway: bool(raw, "isGateway") || isDefaultGateway,
    forceAddress: bool(raw, "forceAddress"),
    ipMasq: bool(raw, "ipMasq"),
    mtu,
    hairpinMode: bool(raw, "hairpinMode"),
    promiscMode: bool(raw, "promiscMode"),
  };
  // the later source wins, as in the reference: CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac
  const argsCni = isObject(raw.args) ? optObject(raw.args.cni, "args.cni") : undefined;
  conf.mac = macFrom("runtimeConfig.mac", raw.runtimeConfig?.mac) ?? macFrom("args.cni.mac", argsCni?.mac) ??
    macFrom("CNI_ARGS MAC", ctx.args.MAC);
  // the skeleton checked the types of ipam and ipam.type; an empty type is a layer-2 attachment (reference)
  if (raw.ipam && optStr(raw.ipam.type, "ipam.type")) conf.ipam = raw.ipam;
  const dns = raw.dns;
  if (
    dns &&
    (dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || dns.domain)
  ) {
    conf.dns = dns;
  }
  return conf;
}
