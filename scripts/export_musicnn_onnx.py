#!/usr/bin/env python3
"""Export musicnn MSD_musicnn to ONNX and write Selecta's model bundles.

Writes, under --out (default: resources/models):

  musicnn-msd/model.onnx           musicnn MSD_musicnn (TF checkpoint from the
                                   PyPI wheel musicnn==0.1.0) converted to ONNX
  musicnn-msd/manifest.json        front-end spec, tensor names, tag names, sha256
                                   (the NNEF archive the browser package reads, and
                                   its keys here, come from a Rust example: see
                                   with_nnef_keys)
  musicnn-msd/LICENSE              musicnn's ISC licence (from the wheel metadata)
  musicnn-msd/fixtures/            deterministic reference data (see FIXTURES below)
  openl3-shape-test/model.onnx     tiny RANDOM-WEIGHT model with OpenL3's input
                                   shape; a shape test, NOT a real OpenL3 model
  openl3-shape-test/manifest.json  OpenL3 (mel256) front-end description
  openl3-shape-test/LICENSE
  openl3-shape-test/fixtures/expected.json

The TF/ML stack is NOT a dependency of Selecta itself; it is only needed to
re-run this export. Set it up in a virtualenv outside the repository:

  python3.11 -m venv ~/.cache/selecta-export-venv
  ~/.cache/selecta-export-venv/bin/pip install --no-deps -r scripts/requirements-export.txt
  ~/.cache/selecta-export-venv/bin/python scripts/export_musicnn_onnx.py --out resources/models

(--no-deps because the requirements file is a complete lock, and musicnn 0.1.0
declares ancient numpy/tensorflow pins that must be ignored.)

  --check   regenerate everything into a temporary directory and compare it
            byte for byte with what is under --out; exit 1 on any difference.

FIXTURES (musicnn-msd/fixtures/):
  audio.f32     little-endian float32, mono, 16 kHz, 128000 samples (8 s);
                synthesised with a fixed seed; every sample is k/32768 for an
                integer k in [-32768, 32767] (exactly representable as 16-bit PCM).
  logmel.f32    little-endian float32, row-major [frames=501, mels=96] ("T,M"):
                log10(10000 * librosa.feature.melspectrogram(y=audio, sr=16000,
                n_fft=512, hop_length=256, n_mels=96) + 1), computed in float32
                (musicnn itself casts the mel to float16 first; we do not).
  expected.json shapes, sha256 of the two binaries, patch starts, and the
                per-patch outputs of the ORIGINAL TensorFlow graph (musicnn's
                own graph with the is_training placeholder fed False):
                tf.tags [P][50], tf.embedding [P][200], tf.penultimate [P][200].
  report.json   onnxruntime outputs for the same patches and the max abs
                differences against TF.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

# tf2onnx's graph optimiser iterates over sets of names, so its output depends on
# Python's string-hash seed. Pin it (re-exec once) so model.onnx is reproducible.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

MODEL_VERSION = "musicnn-msd-1"
MUSICNN_MODEL = "MSD_musicnn"
OPSET = 13

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187
PATCH_HOP = 187

INPUT_NAME = "melspec"
TAGS_SRC = "model/Sigmoid"
EMBEDDING_SRC = "model/dense/BiasAdd"
PENULTIMATE_SRC = "model/batch_normalization_10/batchnorm/add_1"

FIXTURE_SEED = 20240601
FIXTURE_SECONDS = 8

OPENL3_VERSION = "openl3-shape-test-1"
OPENL3_SEED = 1234
OPENL3_N_MELS = 256
OPENL3_FRAMES = 199
OPENL3_EMBEDDING = 512
OPENL3_GROUPS = 16

# Max abs difference (TF vs onnxruntime) above which the export is rejected.
TOLERANCE = 1e-4


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def with_nnef_keys(manifest: dict, committed: Path) -> dict:
    """The manifest with the NNEF archive's keys after "sha256". The archive is tract's
    conversion of the ONNX, written with its keys by a Rust example (cargo run -p selecta-core
    --features onnx --example export_nnef -- resources/models/musicnn-msd); they are carried over
    from the committed manifest while the ONNX they were converted from is unchanged."""
    try:
        old = json.loads(committed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return manifest
    if old.get("sha256") != manifest["sha256"] or "nnefFile" not in old:
        return manifest
    out = {}
    for key, value in manifest.items():
        out[key] = value
        if key == "sha256":
            out["nnefFile"], out["nnefSha256"] = old["nnefFile"], old["nnefSha256"]
    return out


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def f32_list(a: np.ndarray):
    """float32 array -> nested lists of Python floats (exact: f32 -> f64 is lossless)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def write_f32le(path: Path, a: np.ndarray) -> None:
    path.write_bytes(np.ascontiguousarray(a, dtype="<f4").tobytes())


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for pkg in ("musicnn", "tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "librosa", "numpy", "scipy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


# --------------------------------------------------------------------------
# Fixture audio + front-end (librosa, exactly as musicnn's batch_data, in f32)
# --------------------------------------------------------------------------


def synth_audio() -> np.ndarray:
    """8 s of deterministic test audio: tones + noise bursts + clicks, 16 kHz mono."""
    rng = np.random.Generator(np.random.PCG64(FIXTURE_SEED))
    n = SR * FIXTURE_SECONDS
    t = np.arange(n, dtype=np.float64) / SR
    y = np.zeros(n, dtype=np.float64)

    # Steady tones with harmonics and a slow tremolo.
    for f0, amp in ((110.0, 0.12), (261.63, 0.08), (440.0, 0.06)):
        for k, ha in ((1, 1.0), (2, 0.5), (3, 0.25)):
            y += amp * ha * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
    y *= 0.75 + 0.25 * np.sin(2 * np.pi * 0.5 * t)

    # A linear chirp 200 Hz -> 6 kHz over the middle four seconds.
    c0, c1 = 2.0, 6.0
    m = (t >= c0) & (t < c1)
    tc = t[m] - c0
    f_start, f_end = 200.0, 6000.0
    phase = 2 * np.pi * (f_start * tc + 0.5 * (f_end - f_start) / (c1 - c0) * tc**2)
    y[m] += 0.1 * np.sin(phase) * np.hanning(m.sum())

    # Noise bursts with exponential decay (drum-like).
    for start in np.arange(0.25, FIXTURE_SECONDS, 0.5):
        i0 = int(start * SR + rng.integers(-400, 400))
        length = int(0.12 * SR)
        i1 = min(n, i0 + length)
        env = np.exp(-np.arange(i1 - i0) / (0.02 * SR))
        y[i0:i1] += 0.25 * env * rng.standard_normal(i1 - i0)

    # A few single-sample clicks.
    for pos in rng.integers(SR // 2, n - SR // 2, size=6):
        y[pos] += 0.6 * (1 if rng.random() < 0.5 else -1)

    # Quiet background noise, so no frame is exactly silent.
    y += 0.003 * rng.standard_normal(n)

    y = np.clip(y, -0.95, 0.95)
    q = np.round(y * 32768.0).clip(-32768, 32767)
    return (q / 32768.0).astype(np.float32)


def musicnn_logmel(audio: np.ndarray, float16: bool = False) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(
        y=audio, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS
    ).T  # [T, M]
    assert mel.dtype == np.float32, mel.dtype
    if float16:  # what musicnn.extractor.batch_data does; NOT used for the fixtures
        mel = mel.astype(np.float16)
    return np.log10(10000 * mel + 1).astype(np.float32)


def patch_starts(n_frames: int) -> list[int]:
    # Same as musicnn.extractor.batch_data: range(0, T - n_frames + 1, hop).
    return list(range(0, n_frames - PATCH_FRAMES + 1, PATCH_HOP))


# --------------------------------------------------------------------------
# TensorFlow: original graph (reference) and export graph
# --------------------------------------------------------------------------


def musicnn_checkpoint() -> str:
    import musicnn

    ckpt = os.path.join(os.path.dirname(musicnn.__file__), MUSICNN_MODEL) + "/"
    if not os.path.exists(ckpt + ".index"):
        raise SystemExit(f"checkpoint not found: {ckpt}.index (is musicnn==0.1.0 installed?)")
    return ckpt


def tf_setup():
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    return tf


def tf_session(tf, graph):
    cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    return tf.compat.v1.Session(graph=graph, config=cfg)


def tf_reference_outputs(patches: np.ndarray) -> dict:
    """Run musicnn's ORIGINAL graph (as built by musicnn.extractor, with the
    is_training placeholder fed False) on the patches, in float32."""
    tf = tf_setup()
    from musicnn import configuration as config
    from musicnn import models

    graph = tf.Graph()
    with graph.as_default():
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, PATCH_FRAMES, N_MELS])
            is_training = tf.compat.v1.placeholder(tf.bool)
            y, *_rest, penultimate = models.define_model(
                x, is_training, MUSICNN_MODEL, len(config.MSD_LABELS)
            )
            tags = tf.nn.sigmoid(y)
        embedding = graph.get_tensor_by_name(EMBEDDING_SRC + ":0")
        sess = tf_session(tf, graph)
        tf.compat.v1.train.Saver().restore(sess, musicnn_checkpoint())
        t, e, p = sess.run([tags, embedding, penultimate], feed_dict={x: patches, is_training: False})
        sess.close()
    return {"tags": t, "embedding": e, "penultimate": p}


def tf_export_graph_def():
    """Rebuild the graph with is_training=False (a Python bool: batch-norm uses
    the moving statistics, dropout disappears, no Switch/Merge), restore the
    checkpoint and freeze it with friendly input/output names."""
    tf = tf_setup()
    from musicnn import configuration as config
    from musicnn import models

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, PATCH_FRAMES, N_MELS], name=INPUT_NAME)
        with tf.name_scope("model"):
            y, *_rest, penultimate = models.define_model(x, False, MUSICNN_MODEL, len(config.MSD_LABELS))
            sig = tf.nn.sigmoid(y)
        assert sig.op.name == TAGS_SRC, sig.op.name
        assert penultimate.op.name == PENULTIMATE_SRC, penultimate.op.name
        embedding = graph.get_tensor_by_name(EMBEDDING_SRC + ":0")
        assert embedding.shape.as_list() == [None, 200], embedding.shape
        tf.identity(sig, name="tags")
        tf.identity(embedding, name="embedding")
        tf.identity(penultimate, name="penultimate")
        ops = {op.type for op in graph.get_operations()}
        assert not ops & {"Switch", "Merge"}, "unexpected control flow in export graph"

        sess = tf_session(tf, graph)
        tf.compat.v1.train.Saver().restore(sess, musicnn_checkpoint())
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["tags", "embedding", "penultimate"]
        )
        sess.close()
    return frozen


def tf_frozen_outputs(graph_def, patches: np.ndarray) -> dict:
    tf = tf_setup()
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
        sess = tf_session(tf, graph)
        names = ["tags", "embedding", "penultimate"]
        res = sess.run([n + ":0" for n in names], feed_dict={INPUT_NAME + ":0": patches})
        sess.close()
    return dict(zip(names, res))


# --------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------


def _make_tf2onnx_deterministic() -> None:
    """tf2onnx's transpose optimiser iterates over set(node.inputs), a set of Node
    objects hashed by id(), i.e. by memory address, so its output (node names,
    and sometimes which Transpose/Reshape survive) changes from run to run.
    Hash Node objects by name instead (names come from a deterministic counter
    and string hashing is pinned by PYTHONHASHSEED=0)."""
    from tf2onnx import graph as tf2onnx_graph

    node_cls = tf2onnx_graph.Node
    if getattr(node_cls, "_selecta_deterministic_hash", False):
        return
    node_cls.__hash__ = lambda self: hash(self.name)  # __eq__ stays identity
    node_cls._selecta_deterministic_hash = True


def convert_to_onnx(graph_def):
    import onnx
    import tf2onnx

    _make_tf2onnx_deterministic()

    model_proto, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=[INPUT_NAME + ":0"],
        output_names=["tags:0", "embedding:0", "penultimate:0"],
        opset=OPSET,
    )

    # Strip the TF ":0" suffixes from graph inputs/outputs and every reference.
    rename = {INPUT_NAME + ":0": INPUT_NAME, "tags:0": "tags", "embedding:0": "embedding", "penultimate:0": "penultimate"}
    g = model_proto.graph
    for node in g.node:
        for i, n in enumerate(node.input):
            if n in rename:
                node.input[i] = rename[n]
        for i, n in enumerate(node.output):
            if n in rename:
                node.output[i] = rename[n]
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.name in rename:
            vi.name = rename[vi.name]
    # Dynamic batch dimension named "N" on the input and all outputs.
    for vi in list(g.input) + list(g.output):
        d0 = vi.type.tensor_type.shape.dim[0]
        d0.Clear()
        d0.dim_param = "N"

    g.name = "musicnn_msd"
    model_proto.doc_string = (
        "musicnn MSD_musicnn (Pons & Serra, 2019; ISC licence) converted from the TF checkpoint "
        "in the PyPI wheel musicnn==0.1.0 by Selecta scripts/export_musicnn_onnx.py. "
        "Input melspec [N,187,96] = log10(10000*mel+1); outputs tags [N,50] (sigmoid), "
        "embedding [N,200] (model/dense/BiasAdd), penultimate [N,200] "
        "(model/batch_normalization_10/batchnorm/add_1)."
    )
    del model_proto.metadata_props[:]
    for k, v in (("modelVersion", MODEL_VERSION), ("licence", "ISC"), ("source", "musicnn==0.1.0 MSD_musicnn")):
        p = model_proto.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(model_proto)
    return model_proto


def ort_run(model_path: Path, feeds: dict, output_names: list[str]) -> dict:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), sess_options=so, providers=["CPUExecutionProvider"])
    res = sess.run(output_names, feeds)
    return dict(zip(output_names, res))


def ort_io(model_path: Path):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return (
        [(i.name, i.shape, i.type) for i in sess.get_inputs()],
        [(o.name, o.shape, o.type) for o in sess.get_outputs()],
    )


def count_params(model_proto) -> int:
    from onnx import numpy_helper

    total = 0
    for init in model_proto.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype.kind == "f":
            total += a.size
    return int(total)


# --------------------------------------------------------------------------
# musicnn bundle
# --------------------------------------------------------------------------


def build_musicnn(out_root: Path) -> dict:
    import importlib.metadata as md

    import onnx
    from musicnn import configuration as config

    dst = out_root / "musicnn-msd"
    fix = dst / "fixtures"
    fix.mkdir(parents=True, exist_ok=True)

    # Licence text shipped in the wheel's metadata.
    dist = md.distribution("musicnn")
    licence_text = dist.read_text("LICENSE.md") or dist.read_text("LICENSE")
    if not licence_text or "Permission to use, copy, modify" not in licence_text:
        raise SystemExit("could not read musicnn's ISC licence from the wheel metadata")
    (dst / "LICENSE").write_text(
        "musicnn (MSD_musicnn weights and model definition), https://pypi.org/project/musicnn/ 0.1.0\n"
        "Licence: ISC\n\n" + licence_text.strip() + "\n",
        encoding="utf-8",
    )

    # Fixture input + front-end.
    audio = synth_audio()
    logmel = musicnn_logmel(audio)
    starts = patch_starts(logmel.shape[0])
    patches = np.stack([logmel[s : s + PATCH_FRAMES] for s in starts]).astype(np.float32)
    print(f"[musicnn] fixture audio {audio.shape}, logmel {logmel.shape}, patches at {starts}")

    # Reference: the original graph.
    ref = tf_reference_outputs(patches)
    # Export graph, frozen; must match the reference (same weights, same ops).
    graph_def = tf_export_graph_def()
    frozen = tf_frozen_outputs(graph_def, patches)
    d_frozen = {k: float(np.max(np.abs(frozen[k] - ref[k]))) for k in ref}
    print(f"[musicnn] TF original vs TF frozen export graph, max abs diff: {d_frozen}")

    model_proto = convert_to_onnx(graph_def)
    model_path = dst / "model.onnx"
    onnx.save_model(model_proto, str(model_path))
    n_params = count_params(model_proto)

    names = ["tags", "embedding", "penultimate"]
    onnx_out = ort_run(model_path, {INPUT_NAME: patches}, names)
    diffs = {k: float(np.max(np.abs(onnx_out[k].astype(np.float64) - ref[k].astype(np.float64)))) for k in names}
    # Dynamic batch: single patch must equal its row of the batched run.
    single = ort_run(model_path, {INPUT_NAME: patches[-1:]}, names)
    d_batch = {k: float(np.max(np.abs(single[k][0] - onnx_out[k][-1]))) for k in names}
    # Informational: effect of musicnn's own float16 cast of the mel.
    logmel16 = musicnn_logmel(audio, float16=True)
    fp16_patches = np.stack([logmel16[s : s + PATCH_FRAMES] for s in starts])
    fp16_tags = tf_frozen_outputs(graph_def, fp16_patches)["tags"]
    d_fp16 = float(np.max(np.abs(fp16_tags - ref["tags"])))
    print(f"[musicnn] TF (original graph) vs onnxruntime, max abs diff: {diffs}")
    print(f"[musicnn] onnxruntime batch-of-1 vs batched, max abs diff: {d_batch}")
    worst = max(diffs.values())
    if worst > TOLERANCE or max(d_frozen.values()) > TOLERANCE:
        raise SystemExit(f"TF vs ONNX difference {worst} exceeds tolerance {TOLERANCE}")

    inputs_io, outputs_io = ort_io(model_path)

    # Fixtures.
    write_f32le(fix / "audio.f32", audio)
    write_f32le(fix / "logmel.f32", logmel)
    expected = {
        "formatVersion": 1,
        "description": (
            "Reference data for the musicnn-msd bundle, generated by scripts/export_musicnn_onnx.py. "
            "Binary files are raw little-endian float32, row-major, no header. "
            "'tf' holds the per-patch outputs of musicnn's ORIGINAL TensorFlow graph "
            "(is_training fed False), computed in float32 on patches of logmel.f32."
        ),
        "seed": FIXTURE_SEED,
        "audio": {
            "file": "audio.f32",
            "dtype": "f32le",
            "shape": [int(audio.shape[0])],
            "sampleRate": SR,
            "channels": 1,
            "sha256": sha256_file(fix / "audio.f32"),
            "note": "every sample is k/32768 with integer k (lossless as 16-bit PCM)",
        },
        "logmel": {
            "file": "logmel.f32",
            "dtype": "f32le",
            "shape": [int(logmel.shape[0]), int(logmel.shape[1])],
            "layout": "T,M",
            "sha256": sha256_file(fix / "logmel.f32"),
            "formula": "log10(10000*librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256, n_mels=96)+1)",
        },
        "patches": {"frames": PATCH_FRAMES, "hop": PATCH_HOP, "count": len(starts), "starts": starts},
        "tf": {k: f32_list(ref[k]) for k in names},
    }
    write_json(fix / "expected.json", expected)

    report = {
        "formatVersion": 1,
        "description": "onnxruntime (CPU) outputs of model.onnx on the fixture patches, and differences vs the TF reference in expected.json",
        "maxAbsDiffOnnxVsTf": diffs,
        "maxAbsDiffOnnxVsTfOverall": worst,
        "maxAbsDiffTfFrozenExportVsTfOriginal": d_frozen,
        "maxAbsDiffOnnxBatch1VsBatched": d_batch,
        "maxAbsDiffTagsIfMelCastToFloat16": d_fp16,
        "tolerance": TOLERANCE,
        "onnx": {k: f32_list(onnx_out[k]) for k in names},
        "versions": versions(),
    }
    write_json(fix / "report.json", report)

    manifest = {
        "schemaVersion": 1,
        "modelVersion": MODEL_VERSION,
        "name": "musicnn MSD_musicnn",
        "description": (
            "musicnn (Pons & Serra 2019) trained on the Million Song Dataset, 50 tags. "
            "Converted from the TF checkpoint in the PyPI wheel musicnn==0.1.0."
        ),
        "modelFile": "model.onnx",
        "sha256": sha256_file(model_path),
        "sizeBytes": model_path.stat().st_size,
        "parameters": n_params,
        "opset": OPSET,
        "frontEnd": {
            "sampleRate": SR,
            "channels": 1,
            "nFft": N_FFT,
            "winLength": N_FFT,
            "hop": HOP,
            "window": "hann_periodic",
            "center": True,
            "padMode": "constant",
            "power": 2.0,
            "nMels": N_MELS,
            "melScale": "slaney",
            "melNorm": "slaney",
            "fmin": 0.0,
            "fmax": SR / 2,
            "log": {"kind": "log10", "scale": 10000.0, "offset": 1.0},
            "patchFrames": PATCH_FRAMES,
            "patchHop": PATCH_HOP,
            "inputLayout": "N,T,M",
        },
        "inputName": INPUT_NAME,
        "inputShape": [-1, PATCH_FRAMES, N_MELS],
        "outputs": [
            {
                "name": "tags",
                "shape": [-1, len(config.MSD_LABELS)],
                "kind": "tags",
                "activation": "sigmoid",
                "sourceTensor": TAGS_SRC,
            },
            {
                "name": "embedding",
                "shape": [-1, 200],
                "kind": "embedding",
                "activation": "none",
                "sourceTensor": EMBEDDING_SRC,
                "description": "200-d back-end dense layer, pre-activation (before ReLU)",
            },
            {
                "name": "penultimate",
                "shape": [-1, 200],
                "kind": "embedding",
                "activation": "none",
                "sourceTensor": PENULTIMATE_SRC,
                "description": "batch-normalised ReLU(dense): musicnn's 'penultimate' feature",
            },
        ],
        "tagsOutput": "tags",
        "embeddingOutput": "embedding",
        "embeddingSize": 200,
        "tagNames": list(config.MSD_LABELS),
        "licence": "ISC",
        "licenceFile": "LICENSE",
        "source": {
            "package": "musicnn",
            "packageVersion": "0.1.0",
            "checkpoint": "musicnn/MSD_musicnn/",
            "homepage": "https://github.com/jordipons/musicnn",
        },
        "fixtures": "fixtures/expected.json",
        "exportedWith": {k: v for k, v in versions().items() if k in ("tensorflow-cpu", "tf2onnx", "onnx", "librosa", "numpy")},
    }
    assert len(manifest["tagNames"]) == 50
    committed = Path(__file__).resolve().parent.parent / "resources" / "models" / "musicnn-msd" / "manifest.json"
    write_json(dst / "manifest.json", with_nnef_keys(manifest, committed))

    print(f"[musicnn] onnx inputs:  {inputs_io}")
    print(f"[musicnn] onnx outputs: {outputs_io}")
    print(f"[musicnn] {model_path} {model_path.stat().st_size} bytes, {n_params} params, sha256 {manifest['sha256']}")
    return {"maxAbsDiff": worst}


# --------------------------------------------------------------------------
# OpenL3-shaped test model (random weights, not a real model)
# --------------------------------------------------------------------------


def build_openl3_shape_test(out_root: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dst = out_root / "openl3-shape-test"
    (dst / "fixtures").mkdir(parents=True, exist_ok=True)

    rng = np.random.Generator(np.random.PCG64(OPENL3_SEED))
    # Keep it tiny: mean over time -> [N,256]; mean over groups of 16 mel bands
    # -> [N,16]; random linear 16 -> 512.
    w = (rng.standard_normal((OPENL3_GROUPS, OPENL3_EMBEDDING)) / np.sqrt(OPENL3_GROUPS)).astype(np.float32)
    b = (0.01 * rng.standard_normal(OPENL3_EMBEDDING)).astype(np.float32)

    nodes = [
        helper.make_node("Squeeze", ["melspec", "squeeze_axes"], ["x3"], name="squeeze_channel"),
        helper.make_node("ReduceMean", ["x3"], ["pooled"], name="mean_over_time", axes=[2], keepdims=0),
        helper.make_node("Reshape", ["pooled", "group_shape"], ["grouped"], name="group_bands"),
        helper.make_node("ReduceMean", ["grouped"], ["bands"], name="mean_over_group", axes=[2], keepdims=0),
        helper.make_node("MatMul", ["bands", "W"], ["proj"], name="linear_matmul"),
        helper.make_node("Add", ["proj", "b"], ["embedding"], name="linear_bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "openl3_shape_test_RANDOM_WEIGHTS_NOT_A_REAL_MODEL",
        inputs=[helper.make_tensor_value_info("melspec", TensorProto.FLOAT, ["N", OPENL3_N_MELS, OPENL3_FRAMES, 1])],
        outputs=[helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", OPENL3_EMBEDDING])],
        initializer=[
            numpy_helper.from_array(np.array([3], dtype=np.int64), "squeeze_axes"),
            numpy_helper.from_array(np.array([-1, OPENL3_GROUPS, OPENL3_N_MELS // OPENL3_GROUPS], dtype=np.int64), "group_shape"),
            numpy_helper.from_array(w, "W"),
            numpy_helper.from_array(b, "b"),
        ],
    )
    model = helper.make_model(
        graph,
        producer_name="selecta-export-script",
        producer_version="1",
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=(
            "SHAPE TEST ONLY: random weights (seed %d), NOT OpenL3. Input [N,256,199,1] like OpenL3 mel256; "
            "output embedding [N,512] = mean over time and over groups of 16 mel bands, then a random 16->512 linear layer." % OPENL3_SEED
        ),
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    model_path = dst / "model.onnx"
    onnx.save_model(model, str(model_path))

    # Expected outputs for two trivial inputs, so a test can check it ran.
    zeros = np.zeros((1, OPENL3_N_MELS, OPENL3_FRAMES, 1), np.float32)
    ramp = (np.arange(OPENL3_N_MELS, dtype=np.float32) / OPENL3_N_MELS * -80.0).reshape(1, -1, 1, 1)
    ramp = np.broadcast_to(ramp, zeros.shape).astype(np.float32)
    out = ort_run(model_path, {"melspec": np.concatenate([zeros, ramp])}, ["embedding"])["embedding"]
    ref = np.stack([b, ramp[0, :, 0, 0].reshape(OPENL3_GROUPS, -1).mean(axis=1) @ w + b])
    assert np.max(np.abs(out - ref)) < 1e-4
    write_json(
        dst / "fixtures" / "expected.json",
        {
            "formatVersion": 1,
            "description": (
                "Outputs of the shape-test model (onnxruntime) for a batch of 2 inputs of shape [256,199,1]: "
                "input 0 all zeros; input 1 constant over time with value -80*m/256 in mel band m (m = 0..255)."
            ),
            "inputs": ["zeros", "melRamp"],
            "embedding": f32_list(out),
        },
    )

    (dst / "LICENSE").write_text(
        "openl3-shape-test: a synthetic model with random weights generated by Selecta's\n"
        "scripts/export_musicnn_onnx.py. It contains no third-party material and is\n"
        "dedicated to the public domain (CC0-1.0).\n",
        encoding="utf-8",
    )

    manifest = {
        "schemaVersion": 1,
        "modelVersion": OPENL3_VERSION,
        "name": "OpenL3-shaped SHAPE TEST (random weights, NOT a real model)",
        "description": (
            "Tiny ONNX with OpenL3 mel256's input shape [N,256,199,1] and a 512-d output "
            "(mean over time and over 16 groups of 16 mel bands, then a random 16->512 linear layer, seed %d). Exists only to prove that the "
            "manifest-driven front-end/inference path handles a second manifest. Its outputs are meaningless." % OPENL3_SEED
        ),
        "isShapeTest": True,
        "modelFile": "model.onnx",
        "sha256": sha256_file(model_path),
        "sizeBytes": model_path.stat().st_size,
        "parameters": int(w.size + b.size),
        "opset": OPSET,
        "frontEnd": {
            # OpenL3 mel256 front-end (kapre 0.1.x Melspectrogram as configured by openl3):
            # n_dft 2048, n_hop 242, sr 48000, power_melgram 1.0 (magnitude), htk=True,
            # norm=1 (slaney area), padding='same' (no centring; 982 zeros each side of a
            # 1 s window -> 199 frames), dB = 10*log10(max(x,1e-10)) minus the per-window
            # max, clipped to -80 dB.
            "sampleRate": 48000,
            "channels": 1,
            "nFft": 2048,
            "winLength": 2048,
            "hop": 242,
            "window": "hann_periodic",
            "center": False,
            "padMode": "constant",
            "padLeft": 982,
            "padRight": 982,
            "power": 1.0,
            "nMels": OPENL3_N_MELS,
            "melScale": "htk",
            "melNorm": "slaney",
            "fmin": 0.0,
            "fmax": 24000.0,
            "log": {"kind": "db", "multiplier": 10.0, "amin": 1e-10, "ref": "max", "topDb": 80.0},
            "patchFrames": OPENL3_FRAMES,
            "patchHop": OPENL3_FRAMES,
            "windowSamples": 48000,
            "windowHopSamples": 4800,
            "inputLayout": "N,M,T,C",
        },
        "inputName": "melspec",
        "inputShape": [-1, OPENL3_N_MELS, OPENL3_FRAMES, 1],
        "outputs": [
            {"name": "embedding", "shape": [-1, OPENL3_EMBEDDING], "kind": "embedding", "activation": "none"},
        ],
        "embeddingOutput": "embedding",
        "embeddingSize": OPENL3_EMBEDDING,
        "tagNames": [],
        "licence": "CC0-1.0",
        "licenceFile": "LICENSE",
        "fixtures": "fixtures/expected.json",
    }
    write_json(dst / "manifest.json", manifest)
    print(f"[openl3-shape-test] {model_path} {model_path.stat().st_size} bytes, sha256 {manifest['sha256']}")


# --------------------------------------------------------------------------


def generate(out_root: Path, which: str) -> None:
    out_root.mkdir(parents=True, exist_ok=True)
    if which in ("all", "musicnn"):
        build_musicnn(out_root)
    if which in ("all", "openl3"):
        build_openl3_shape_test(out_root)


def compare_trees(new: Path, old: Path) -> list[str]:
    problems = []
    for p in sorted(new.rglob("*")):
        if p.is_dir():
            continue
        rel = p.relative_to(new)
        q = old / rel
        if not q.exists():
            problems.append(f"missing in {old}: {rel}")
        elif rel.name == "report.json":
            continue  # contains tool versions; compared loosely below
        elif not filecmp.cmp(p, q, shallow=False):
            problems.append(f"differs: {rel}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "resources" / "models",
        help="output root (default: <repo>/resources/models)",
    )
    ap.add_argument("--only", choices=["all", "musicnn", "openl3"], default="all")
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with --out; write nothing")
    args = ap.parse_args()

    if args.check:
        tmp = Path(tempfile.mkdtemp(prefix="selecta-export-check-"))
        try:
            generate(tmp, args.only)
            problems = compare_trees(tmp, args.out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if problems:
            print("CHECK FAILED:\n  " + "\n  ".join(problems))
            return 1
        print("CHECK OK: regenerated files are identical to those under", args.out)
        return 0

    generate(args.out, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
