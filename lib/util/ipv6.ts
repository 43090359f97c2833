/**
 * IPv6 text as Go's net.IP.String() and iproute2 print it (RFC 5952): lower-case hex groups, the longest run
 * of two or more zero groups (the first on a tie) as `::`. Shared by lib/cni's address math and lib/netlink.
 * @module
 */

/** Eight 16-bit groups → the shortest text. */
export function ipv6Text(groups: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: readonly number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}
