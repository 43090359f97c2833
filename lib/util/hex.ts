/** Hex spellings of bytes: the random ids cnilab puts in names, and MAC addresses. */

/** Bytes as lowercase hex, two digits each, joined by `sep` ("" → `0a1b2c`, ":" → `0a:1b:2c`). */
export function hex(bytes: Uint8Array, sep = ""): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(sep);
}

/** `n` random bytes as hex: `randomHex(4)` → `"9f03c2e1"` (8 characters). */
export function randomHex(n: number, sep = ""): string {
  return hex(crypto.getRandomValues(new Uint8Array(n)), sep);
}
