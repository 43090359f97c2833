// bun test ignores [test] timeout in bunfig.toml, so the default lives here: the integration tests build
// real namespaces and some run whole labs.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(120_000);
