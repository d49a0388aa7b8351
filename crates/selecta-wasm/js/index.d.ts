import type { Library } from "./selecta_wasm.js";
export type Backend = "native" | "wasm";
export interface OpenOptions {
  backend?: Backend;
  nativeAddon?: string;
  inMemory?: boolean;
  profile?: "full" | "club_hifi_150s" | "fast";
}
/** Open a library on the native addon when it loads, on the wasm module otherwise. */
export function openLibrary(nameOrDir: string, options?: OpenOptions): Promise<{ backend: Backend; library: Library }>;
export { Library };
export * from "./selecta_wasm.js";
