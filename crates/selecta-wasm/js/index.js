// Selecta's JS entry point: opens a library on the native N-API addon when it loads (Node,
// Electron main or a renderer with Node integration; SQLite in the library folder, all cores)
// and on the wasm module otherwise (browser, sandboxed renderer; IndexedDB). Both expose the
// same methods with the same names, statuses and JSON shapes; `backend` says which one runs.
//
//   import { openLibrary } from "selecta";
//   const { backend, library } = await openLibrary("~/Music");   // backend: "native" | "wasm"
//   await library.setSelectionLabels(ids, "liked");
//
// `options.backend` ("native" | "wasm") or the SELECTA_BACKEND environment variable forces a
// choice (tests); `options.nativeAddon` is the path of the addon's JS face (default:
// SELECTA_NATIVE_ADDON, then `../native/index.cjs` next to this package).
import init, { Library, unavailableError, libraryRules, compatibleKeys } from "./selecta_wasm.js";

let wasmReady = null;

async function loadNative(options) {
  const proc = globalThis.process;
  if (!proc?.versions?.node) return { addon: null, reason: "not running under Node or Electron" };
  try {
    const { createRequire } = await import("node:module");
    const require = createRequire(import.meta.url);
    const path = options.nativeAddon ?? proc.env.SELECTA_NATIVE_ADDON
      ?? new URL("../native/index.cjs", import.meta.url).pathname;
    return { addon: require(path), reason: null };
  } catch (e) {
    return { addon: null, reason: String(e?.message ?? e) };
  }
}

async function loadWasm() {
  if (!wasmReady) {
    wasmReady = (async () => {
      if (globalThis.process?.versions?.node && typeof fetch === "function") {
        // Node: fetch cannot read file: URLs, so hand the bytes over.
        const { readFile } = await import("node:fs/promises");
        await init({ module_or_path: await readFile(new URL("./selecta_wasm_bg.wasm", import.meta.url)) });
      } else {
        await init();
      }
    })();
  }
  return wasmReady;
}

/** Open a library: a folder path for the native addon, a name (IndexedDB database) for wasm. */
export async function openLibrary(nameOrDir, options = {}) {
  const forced = options.backend ?? globalThis.process?.env?.SELECTA_BACKEND;
  if (forced !== "wasm") {
    const { addon, reason } = await loadNative(options);
    if (addon) return { backend: "native", library: await addon.Library.open(nameOrDir, options) };
    if (forced === "native") {
      await loadWasm();
      throw unavailableError(`native addon unavailable: ${reason}`);
    }
  }
  await loadWasm();
  return { backend: "wasm", library: await Library.open(nameOrDir, options) };
}

// The engine's rules (training threshold, audio extensions, Camelot key compatibility); the
// wasm module must be initialised (any openLibrary with backend "wasm" does it).
export { Library, libraryRules, compatibleKeys };
