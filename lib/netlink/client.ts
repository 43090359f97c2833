/**
 * The typed client: links, addresses and routes of one network namespace, over one {@link NetlinkSocket}.
 * @module
 */
import {
  addAddress,
  type AddressInfo,
  type AddressSpec,
  delAddress,
  dumpAddresses,
  parseAddress,
  replaceAddress,
} from "./address.ts";
import { Errno } from "../sys/errno.ts";
import {
  delLink,
  dumpLinks,
  getLink,
  type LinkChange,
  type LinkInfo,
  type NewLink,
  newLink,
  parseLink,
  setHairpin,
  setLink,
} from "./link.ts";
import {
  addRoute,
  appendRoute,
  delRoute,
  dumpRoutes,
  parseRoute,
  replaceRoute,
  type RouteInfo,
  type RouteSpec,
} from "./route.ts";
import { NetlinkError, NetlinkSocket, type OpenOptions } from "./socket.ts";
import { RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE } from "./_wire.ts";

function linkSummary(l: LinkInfo, names: ReadonlyMap<number, string>): string {
  const master = l.master ? ` master ${names.get(l.master) ?? `if${l.master}`}` : "";
  return `${l.kind ?? "link"} ${l.name} index ${l.index}${l.up ? " up" : ""}${master}`;
}

/** rtnetlink for one namespace: `nl.link.get("cni0")`, `nl.addr.add(...)`, `nl.route.append(...)`. */
export class Netlink {
  private constructor(readonly socket: NetlinkSocket) {}

  /** A client in the calling thread's namespace, or in `options.netns` (see {@link OpenOptions}). */
  static open(options: OpenOptions = {}): Netlink {
    return new Netlink(NetlinkSocket.open(options));
  }

  close(): void {
    this.socket.close();
  }

  private seen(l: LinkInfo): LinkInfo {
    this.socket.names.set(l.index, l.name);
    return l;
  }

  /** Links: `ip link`. */
  readonly link = {
    /** The link called `name`; undefined when there is none (ENODEV). */
    get: (name: string): LinkInfo | undefined => {
      // what cannot be a link name (IFNAMSIZ, no slash, space, colon or control character) is no link
      // deno-lint-ignore no-control-regex -- control characters are exactly what is refused
      if (!/^[^\/\s:\x00-\x1f\x7f]{1,15}$/.test(name) || name === "." || name === "..") return undefined;
      try {
        const m = this.socket.get(getLink(name), (m) => linkSummary(parseLink(m.body), this.socket.names));
        return m && m.type === RTM_NEWLINK ? this.seen(parseLink(m.body)) : undefined;
      } catch (e) {
        if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return undefined;
        throw e;
      }
    },
    /** Every link of the namespace. */
    list: (): LinkInfo[] =>
      this.socket.dump(dumpLinks(), "links").filter((m) => m.type === RTM_NEWLINK).map((m) =>
        this.seen(parseLink(m.body))
      ),
    /** Creates a bridge or a veth pair (EEXIST when the name is taken). */
    add: (l: NewLink): void => this.socket.request(newLink(l)),
    /** Changes flags and attributes of link `index`. */
    set: (index: number, change: LinkChange): void => this.socket.request(setLink(index, change)),
    /** A bridge port's hairpin mode. */
    hairpin: (index: number, on: boolean): void => this.socket.request(setHairpin(index, on)),
    /** Deletes link `index`. */
    del: (index: number): void => this.socket.request(delLink(index)),
  };

  /** Addresses: `ip addr`. */
  readonly addr = {
    add: (a: AddressSpec): void => this.socket.request(addAddress(a)),
    replace: (a: AddressSpec): void => this.socket.request(replaceAddress(a)),
    del: (a: AddressSpec): void => this.socket.request(delAddress(a)),
    /** Addresses of the namespace, of one link (`index`) and/or one family. */
    list: (filter: { index?: number; family?: 4 | 6 } = {}): AddressInfo[] =>
      this.socket.dump(dumpAddresses(), "addresses").filter((m) => m.type === RTM_NEWADDR).map((m) =>
        parseAddress(m.body)
      ).filter((a) =>
        (filter.index === undefined || a.index === filter.index) &&
        (filter.family === undefined || a.family === filter.family)
      ),
  };

  /** Routes: `ip route`. */
  readonly route = {
    add: (r: RouteSpec): void => this.socket.request(addRoute(r)),
    append: (r: RouteSpec): void => this.socket.request(appendRoute(r)),
    replace: (r: RouteSpec): void => this.socket.request(replaceRoute(r)),
    del: (r: RouteSpec): void => this.socket.request(delRoute(r)),
    /** Routes of one family in one table (main by default; the kernel may answer all, they are filtered). */
    list: (family: 4 | 6, table = 254): RouteInfo[] =>
      this.socket.dump(dumpRoutes(family, table), "routes").filter((m) => m.type === RTM_NEWROUTE).map((m) =>
        parseRoute(m.body)
      ).filter((r) => r.table === table && r.family === family),
  };
}
