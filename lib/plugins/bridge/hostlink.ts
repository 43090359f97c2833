/**
 * The one thing about a host link that rtnetlink does not tell: how its MAC was assigned
 * (/sys/class/net/NAME/addr_assign_type). The bridge pins the MAC of a bridge someone else made unless it
 * was set explicitly, as the reference's ensureAddr does.
 * @module
 */
import { hasControlChar } from "../../cni/fields.ts";
import { readText } from "../../sys/fs.ts";

/** addr_assign_type: the MAC was set explicitly (NET_ADDR_SET). */
export const NET_ADDR_SET = 3;

/** The link's addr_assign_type (0 permanent, 1 random, 2 stolen, 3 set); undefined when it is gone. */
export function macAssignType(name: string): number | undefined {
  // names come from configs and prevResults: never let one walk out of /sys/class/net
  if (!/^[^\/\s:]{1,15}$/.test(name) || hasControlChar(name) || name === "." || name === "..") {
    return undefined;
  }
  try {
    return Number(readText(`/sys/class/net/${name}/addr_assign_type`).trim());
  } catch {
    return undefined;
  }
}
