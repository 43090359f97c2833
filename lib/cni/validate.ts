/**
 * The one validator of the names both sides of the protocol check: container IDs, network names and
 * interface names. The plugin side (the skeleton) prints the {@link CniError} as the spec's error JSON; the
 * runtime side (libcni) refuses the operation before any plugin runs. In containernetworking/cni both
 * sides call one set of these too (`pkg/utils/utils.go`: `ValidateContainerID`, `ValidateNetworkName`).
 * The codes here are the ones cnilab's plugins have always answered (tests/plugins/bad-input-cases.ts).
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";
import { hasControlChar } from "./fields.ts";

/** Names of containers and networks (libcni's `cniValidNameRegex`). */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

const NAME_RULE = `use letters, digits, "_", "." and "-", starting with a letter or digit`;

/** Checks a container ID: code 3 when empty, code 4 when it has characters libcni refuses. */
export function validateContainerId(id: string): void {
  if (id === "") throw new CniError(ErrorCode.UnknownContainer, "missing containerID");
  if (!NAME_RE.test(id)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      "invalid characters in containerID",
      `${JSON.stringify(id)}: ${NAME_RULE}`,
    );
  }
}

/** Checks a network name: code 7 when empty or with characters libcni refuses. */
export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  if (!NAME_RE.test(name)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "invalid characters found in network name",
      `${JSON.stringify(name)}: ${NAME_RULE}`,
    );
  }
}

/** Checks an interface name the way the kernel and libcni do (code 4): 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace. */
export function validateIfname(name: string): void {
  const fail = (msg: string, details = "") => {
    throw new CniError(ErrorCode.InvalidEnvironment, msg, details);
  };
  if (name === "") fail("interface name is empty");
  if (new TextEncoder().encode(name).length > 15) {
    fail("interface name is too long", `${JSON.stringify(name)}: interface names are at most 15 bytes`);
  }
  if (name === "." || name === "..") fail("interface name is . or ..");
  if (/[\/:\s]/.test(name) || hasControlChar(name)) {
    fail("interface name contains / or : or whitespace or control characters", JSON.stringify(name));
  }
}
