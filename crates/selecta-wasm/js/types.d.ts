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
  /** Half and double the tempo where in range, most plausible first; confidence ≤ bpmConfidence. */
  bpmAlternatives: { bpm: number; confidence: number }[];
  key: string | null; camelot: string | null; openKey: string | null; keyStrength: number | null;
  rmsMean: number; loudnessLufs: number | null; hpcp: number[] | null; chromaprintFingerprint: string | null;
  chromaprintSimhash: string | null; analysisVersion: number;
  metadata: { title: string | null; artist: string | null; album: string | null; genre: string | null;
    year: number | null; comment: string | null };
  embedding: number[] | null; modelVersion: string | null; profile: string | null;
  windows: { start: number; end: number }[] | null; topTags: { name: string; p: number }[] | null;
  dj: DjFeatures | null; introEmbedding: number[] | null; outroEmbedding: number[] | null;
  /** What could not be decoded in a damaged file (the rest was analysed). */
  damage: { skippedSec: number; firstAtSec: number; endsEarly: boolean } | null;
}
export interface AnalyzeResult { status: "analyzed" | "unchanged"; songId: string; features: SongFeatures | null; embeddingError?: string;
  /** A damaged file: what was skipped. */
  warning?: string }
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
export interface ImportSummary {
  songs: number; paths: number; labels: number; model: boolean; sessions: number; userMetadata: number;
}
/** `similarTracks` options: every field optional; ranges are `[low, high]`, inclusive. */
/** `listSongs` options: the rows of the path-sorted listing from `offset`, at most `limit`. */
export interface SongPage { offset?: number; limit?: number }
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
/** DJ features (`dj` in `SongFeatures`): energy 1–10, low-end shares, intro and outro. */
export interface DjSection {
  startSec: number; endSec: number; bars: number; boundary: boolean; mixability: number; lowShare: number;
  vocalPresence: number; energy: number;
}
export interface DjFeatures {
  energy: number; lowEnd: { sub: number; bass: number; lowMid: number }; onsetDensity: number; brightnessHz: number;
  vocalPresence: number; percussiveRatio: number; firstDownbeatSec: number | null; intro: DjSection | null;
  outro: DjSection | null;
}
export type Goal = "maintain" | "up" | "down" | "peak";
export interface NextWeights {
  similarity?: number; energy?: number; lowEnd?: number; mixability?: number; key?: number; tempo?: number;
  hype?: number; diversity?: number;
}
/** `nextTracks` options: every field optional. */
export interface NextTracksOptions {
  session?: string; k?: number; goal?: Goal; weights?: NextWeights; bpmTolerance?: number; halfDouble?: boolean;
  keyRule?: boolean; pool?: number; explain?: boolean; strictGoal?: boolean;
}
export interface NextParts {
  similarity: number; energy: number; lowEnd: number; mixability: number; key: number; tempo: number; hype: number;
  diversity: number;
}
export interface NextOutcome {
  current: string; currentEnergy: number | null; goal: Goal;
  items: { id: string; path: string | null; score: number; parts: NextParts; bpm: number | null; tempoFactor: number;
    camelot: string | null; energy: number | null }[];
  filtered?: { id: string; rule: "played" | "bpm" | "key" | "energy" }[];
}
export interface PlanSetOptions {
  length?: number; minutes?: number; arc?: "warmup" | "peak" | "journey" | number[]; beam?: number;
  next?: Omit<NextTracksOptions, "session" | "k" | "goal" | "explain">;
}
export interface PlanOutcome {
  items: { id: string; path: string | null; targetEnergy: number; energy: number | null; bpm: number | null;
    camelot: string | null; durationSec: number; transition: NextParts | null; score: number | null }[];
  requested: number; complete: boolean; energyRankCorrelation: number | null;
}
export interface RekordboxExportOptions {
  libraryRoot?: string; picks?: number; similarTo?: string[]; similarTracks?: number; plans?: string[];
  sessions?: string[]; keyNotation?: "classic" | "camelot";
}
export interface RekordboxExport { xml: string; tracks: number; playlists: { name: string; tracks: number }[] }
export interface M3uOptions { libraryRoot?: string; playlistDir?: string }
export interface RekordboxImportOptions {
  libraryRoot?: string; likedPlaylists?: string[]; dislikedPlaylists?: string[]; noAutoTrain?: boolean;
}
export interface RekordboxImport {
  tracks: number;
  matched: { trackId: string; songId: string; path: string; matchedBy: "path" | "file_bytes" }[];
  unmatched: { trackId: string; name: string; location: string;
    reason: "no_location" | "not_a_file_url" | "outside_library" | "not_analysed" | "file_missing" }[];
  playlists: string[]; liked: number; disliked: number; conflicting: string[]; labels: LabelOutcome | null;
}
export interface LabelOutcome {
  total: number; changed: number; sampleChangeCount: number; sampleChangeDelta: number; positives: number;
  negatives: number; autoTrain: TrainOutcome | null;
}
export interface BandcampImportOptions {
  map?: Record<string, "artist" | "title" | "album" | "tags" | "genre" | "subgenre" | "item_type">;
  like?: boolean; noAutoTrain?: boolean;
}
export interface BandcampRow { line: number; artist: string; title: string | null; album: string | null }
export interface BandcampImport {
  rows: number; matched: (BandcampRow & { songIds: string[] })[]; unmatched: BandcampRow[];
  ambiguous: (BandcampRow & { candidates: string[] })[]; songsUpdated: number; labels: LabelOutcome | null;
}
export interface UserMetadata { genre: string | null; subgenre: string | null; tags: string[]; source: string }
export interface SessionView {
  name: string; current: string | null; played: { id: string; path: string | null; atMs: number }[]; createdMs: number;
}
export interface SessionChange { id: string | null; played: number }
