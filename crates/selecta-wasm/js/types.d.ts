// TypeScript declarations of the values the wasm Library's methods take and return, appended to
// the generated selecta_wasm.d.ts (see src/library.rs). `ErrorCode` comes from the core.
/** The rules a user interface shows or applies (`libraryRules()`). */
export interface LibraryRules {
  minPositives: number; negativesPerPositive: number; autoRetrainChanges: number; audioExtensions: string[];
  profiles: string[]; errorCodes: ErrorCode[]; maxFileBytes: number;
}
export interface SongFeatures {
  songId: string; fileHash: string; path: string | null; durationSec: number; sampleRate: number;
  channels: number; bitrateKbps: number; bpm: number | null; bpmConfidence: number | null;
  key: string | null; camelot: string | null; openKey: string | null; keyStrength: number | null;
  rmsMean: number; loudnessLufs: number | null; hpcp: number[] | null; chromaprintFingerprint: string | null;
  chromaprintSimhash: string | null; analysisVersion: number;
  metadata: { title: string | null; artist: string | null; album: string | null; genre: string | null;
    year: number | null; comment: string | null };
  embedding: number[] | null; modelVersion: string | null; profile: string | null;
  windows: { start: number; end: number }[] | null; topTags: { name: string; p: number }[] | null;
}
export interface AnalyzeResult { status: "analyzed" | "unchanged"; songId: string; features: SongFeatures | null; embeddingError?: string }
export interface SetLabelsResult { total: number; changed: number; sampleChangeCount: number; sampleChangeDelta: number }
export interface LabelSnapshot { positiveIds: string[]; negativeIds: string[]; sampleChangeCount: number }
export interface Progress { phase: "prepare" | "train" | "save"; percent: number }
/** Progress of one file's analysis; `percent` covers the whole file. */
export interface AnalysisProgress { phase: "decode" | "features" | "embed"; percent: number }
export interface AnalyzeFileOptions {
  size?: number; mtimeMs?: number; onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal;
}
export interface TrainOptions { onProgress?: (p: Progress) => void; signal?: AbortSignal }
export interface TrainOutcome {
  status: "trained" | "insufficient_samples" | "cancelled" | "failed"; modelRevision?: number;
  metrics?: { positives: number; negatives: number; skippedWithoutFeatures: number; features: number; trees: number;
    trainAuc: number; trainLogLoss: number };
  errorCode?: ErrorCode; error?: string;
}
export interface PredictOutcome {
  status: "ok" | "not_trained" | "insufficient_samples" | "cancelled" | "failed"; modelRevision?: number;
  items: { id: string; score: number }[]; missing?: string[]; errorCode?: ErrorCode; error?: string;
}
export interface ImportSummary { songs: number; paths: number; labels: number; model: boolean }
/** `similarTracks` options: every field optional; ranges are `[low, high]`, inclusive. */
export interface SimilarOptions {
  k?: number; explain?: boolean; exact?: boolean; bpm?: [number, number]; halfDouble?: boolean; keyCompatible?: boolean;
  exclude?: string[]; duration?: [number, number];
}
/** Scores in standard deviations closer than a typical pair of the library (higher is closer). */
export interface ScoreParts { embedding: number | null; timbre: number | null; tags: number | null }
export interface SimilarOutcome {
  items: { id: string; path: string | null; score: number; parts: ScoreParts }[];
  /** Whether the approximate index answered (large libraries) rather than the exact search. */
  approximate: boolean;
  filtered?: { id: string; rule: "excluded" | "bpm" | "key" | "duration" }[];
}
/** `searchByAudio` / `identify` options: the file name (a format hint) and the `SimilarOptions`. */
export interface AudioSearchOptions extends SimilarOptions { name?: string }
/** A library track the audio may be: where it starts in it, at which speed, and the evidence. */
export interface IdentifiedTrack {
  id: string; path: string | null; offsetSec: number; speed: number; stretch: number; matched: boolean;
  parts: { fingerprint: number; embedding: number | null };
}
export interface IdentifyOutcome { querySeconds: number; identified: IdentifiedTrack | null; candidates: IdentifiedTrack[] }
export interface AudioSearchOutcome { identified: IdentifiedTrack | null; items: SimilarOutcome["items"] }
