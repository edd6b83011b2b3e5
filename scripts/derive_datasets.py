#!/usr/bin/env python3
"""Regenerate datasets/profiles, datasets/pipelines and datasets/traces from the
real measurements in ../shared/data (nothing synthetic: every number written here is
a re-formatted or aggregated measurement, or a documented rule applied to them).

    python scripts/derive_datasets.py [--shared PATH]

PATH defaults to ../shared/data relative to the repository root. Uses only pandas,
numpy, pyyaml and the standard library. Output is deterministic (no timestamps).
Every CSV and instance written is validated here (exact columns, finite > 0 values,
integer batches, unique row identities; instance structure; feasibility of every
pipeline at its default rate and SLA under `batch-fill`, checked by asserting).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "datasets"
PROFILES = OUT / "profiles"
PIPELINES = OUT / "pipelines"
TRACES = OUT / "traces"

BASE_COLS = ["batch", "hardware", "units", "latency_ms"]
OPT_COLS = ["variant", "accuracy"]

# ----------------------------------------------------------------------------- citations
CITE = {
    "packrat": "Bhardwaj et al., \"Packrat: Automatic "
               "Reconfiguration for Latency Minimization in CPU-based DNN Serving\", "
               "arXiv:2311.18174 (ICML 2025). Data: github.com/msr-fiddle/packrat (gh-pages "
               "@ e7e1368f). License: none stated (research use, cite the paper).",
    "proteus": "Ahmad et al., \"Proteus: A High-Throughput Inference-Serving "
               "System with Accuracy Scaling\", ASPLOS 2024. Data: github.com/UMass-LIDS/Proteus "
               "@ 6967c932, profiling/aggregate_profiled.csv. License: \"comparison purposes "
               "only\" (do not redistribute outside the project without asking the authors).",
    "loki": "Ahmad, Guan, Sitaraman, \"Loki: A System for Serving ML Inference Pipelines with "
            "Hardware and Accuracy Scaling\", HPDC 2024 (arXiv:2407.03583). Data: "
            "github.com/UMass-LIDS/Loki @ e6bb80cc. License: \"comparison purposes only\".",
    "ipa": "Ghafouri et al., \"IPA: Inference Pipeline Adaptation to Achieve High Accuracy and "
           "Cost-Efficiency\", Journal of Systems Research (JSys) 2024. Data: "
           "github.com/reconfigurable-ml-pipeline/ipa @ e1f08dde (notebook outputs salvaged). "
           "License: none stated (research use with citation).",
    "twitter": "Twitter stream 2021-08 per-second counts from "
               "github.com/reconfigurable-ml-pipeline/web-service-datasets @ 7404ad66 (the trace "
               "of the IPA and InfAdapter papers); windows from IPA's final experiment configs. "
               "License: none stated.",
}

# ----------------------------------------------------------------------------- helpers
_provenance: list[tuple[str, dict]] = []  # (file name, info) for profiles/PROVENANCE.md
_frames: dict[str, pd.DataFrame] = {}     # profile file name -> validated frame


def validate_profile(name: str, df: pd.DataFrame) -> None:
    cols = list(df.columns)
    assert cols[:4] == BASE_COLS, f"{name}: columns {cols}"
    extra = cols[4:]
    assert extra in ([], ["variant"], ["variant", "accuracy"]), f"{name}: extra columns {extra}"
    assert len(df) > 0, f"{name}: empty"
    b = df["batch"]
    assert b.dtype.kind == "i" and (b >= 1).all(), f"{name}: batch must be integers >= 1"
    for c in ("units", "latency_ms"):
        v = df[c].to_numpy(dtype=float)
        assert np.isfinite(v).all() and (v > 0).all(), f"{name}: {c} must be finite and > 0"
    assert df["hardware"].map(lambda h: isinstance(h, str) and h != "").all(), f"{name}: hardware"
    if "variant" in extra:
        assert df["variant"].map(lambda s: isinstance(s, str) and s != "").all(), f"{name}: variant"
    if "accuracy" in extra:
        a = df["accuracy"].to_numpy(dtype=float)
        assert np.isfinite(a).all(), f"{name}: accuracy must be finite"
    ident = ["batch", "hardware", "units"] + (["variant"] if "variant" in extra else [])
    dup = df.duplicated(ident, keep=False)
    assert not dup.any(), f"{name}: duplicate identities\n{df[dup]}"


def write_profile(name: str, df: pd.DataFrame, info: dict) -> None:
    df = df.copy()
    df["batch"] = df["batch"].astype(int)
    u = df["units"].astype(float)
    df["units"] = u.astype(int) if (u == u.round()).all() else u
    df["latency_ms"] = df["latency_ms"].astype(float).round(4)
    if "accuracy" in df.columns:
        df["accuracy"] = df["accuracy"].astype(float).round(4)
    cols = BASE_COLS + [c for c in OPT_COLS if c in df.columns]
    df = df[cols]
    sort = (["variant"] if "variant" in df.columns else []) + ["hardware", "units", "batch"]
    df = df.sort_values(sort, kind="mergesort").reset_index(drop=True)
    validate_profile(name, df)
    df.to_csv(PROFILES / name, index=False, lineterminator="\n")
    back = pd.read_csv(PROFILES / name)  # re-read check: exact columns survive the round trip
    validate_profile(name, back)
    info = dict(info)
    info["rows"] = len(df)
    info["grid"] = (f"batch {sorted(df.batch.unique().tolist())}; hardware "
                    f"{sorted(df.hardware.unique().tolist())}; units "
                    f"{sorted(df.units.unique().tolist())}"
                    + (f"; variants {sorted(df.variant.unique().tolist())}" if "variant" in df else ""))
    _provenance.append((name, info))
    _frames[name] = back


def slug(s: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in s.lower()).strip("_")


# ----------------------------------------------------------------------------- Packrat
PACKRAT_BATCHES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64]
PACKRAT_BERT_BATCHES = [1, 2, 4, 8, 16, 32, 64]


def packrat_profiles(shared: Path) -> None:
    spec = [
        ("resnet50", "resnet_latency__cloudlab_pytorch-granular.csv", "resnet_manual_script",
         PACKRAT_BATCHES, "ResNet-50"),
        ("inception_v3", "inception_latency__cloudlab_pytorch-granular.csv",
         "inception_manual_script", PACKRAT_BATCHES, "Inception-v3"),
        ("gpt2", "gpt2_latency__cloudlab_pytorch-granular.csv", "gpt2_manual_script",
         PACKRAT_BATCHES, "GPT-2 (one forward pass over the batch, no token generation loop)"),
        ("bert", "bert_latency__cloudlab_large-batches.csv", "bert_manual_script",
         PACKRAT_BERT_BATCHES, "BERT (one forward pass)"),
    ]
    for key, fname, bench, batches, model in spec:
        d = pd.read_csv(shared / "packrat" / fname)
        sel = d[(d.benchmark == bench) & (d.topology == "sequential") & (d.pinning == "numactl")
                & (d.allocator == "default") & (d.instance_id == 1) & (d.interop_threads == 1)
                & (d.intraop_threads.between(1, 16)) & (d.batch_size.isin(batches))]
        assert len(sel) == 16 * len(batches), (fname, len(sel))
        out = pd.DataFrame({"batch": sel.batch_size, "hardware": "cpu",
                            "units": sel.intraop_threads, "latency_ms": sel["latency(avg)"]})
        write_profile(f"packrat_{key}_cpu.csv", out, {
            "model": model, "source": "packrat/",
            "original": f"packrat/{fname} (gh-pages path in ../shared/data/packrat/PROVENANCE.md)",
            "filter": (f"benchmark={bench} (TorchScript), topology=sequential, pinning=numactl, "
                       f"allocator=default, instance_id=1, interop_threads=1, intraop_threads 1..16, "
                       f"batch_size in {batches}"),
            "statistic": "latency(avg) = mean forward-pass time of the whole batch over the "
                         "benchmark iterations after warm-up",
            "conversion": "none (already ms per batch); units = intraop_threads = cores "
                          "(threads pinned with numactl, one socket filled first); hardware `cpu` "
                          "= CloudLab 2-socket server (SKU not stated)",
            "citation": CITE["packrat"]})
    for key, model in [("mobilenet", "MobileNet (TorchServe)"),
                       ("squeezenet", "SqueezeNet (TorchServe)")]:
        d = pd.read_csv(shared / "packrat" / "torchserve" / f"{key}_results.csv")
        sel = d[(d.allocator == "default") & (d.instances == 1)]
        assert len(sel) == 128, len(sel)
        out = pd.DataFrame({"batch": sel.batch_size, "hardware": "cpu", "units": sel.cores,
                            "latency_ms": sel.mean_predict_latency})
        write_profile(f"packrat_torchserve_{key}_cpu.csv", out, {
            "model": model, "source": "packrat/torchserve/",
            "original": f"packrat/torchserve/{key}_results.csv "
                        f"(= {key}/cloudlab/torchserve-allocators/{key}_results.csv on gh-pages)",
            "filter": "allocator=default, instances=1; all cores 1..16 x batch 1,2,4,...,128",
            "statistic": "mean_predict_latency = mean handler predict time of one batch "
                         "(consistent with batch/throughput); mean_ts_latency (end-to-end through "
                         "TorchServe incl. its queue) NOT used",
            "conversion": "none (ms per batch); units = cores given to TorchServe",
            "citation": CITE["packrat"]})


# ----------------------------------------------------------------------------- Proteus
PROTEUS_HW = {"onnxruntime_cpu": "cpu-whole", "onnxruntime_gpu_pascal": "gpu-pascal",
              "onnxruntime_gpu_ampere": "gpu-ampere"}
PROTEUS_FAMILIES = ["resnet", "resnest", "densenet", "efficientnet", "mobilenet", "yolo", "bert",
                    "gpt2", "t5"]
# single-variant GPU profiles used by pipelines: file key -> Proteus model name
PROTEUS_SINGLE = {"yolov5s": "yolov5s", "resnet50": "resnet50_v1", "roberta_base": "roberta-base",
                  "t5_small": "t5-small", "t5_base": "t5-base", "efficientnet_b0": "efficientnet-b0",
                  "mobilenet1_0": "mobilenet1.0"}


def proteus_table(shared: Path) -> pd.DataFrame:
    d = pd.read_csv(shared / "proteus" / "aggregate_profiled.csv")
    assert d["avg_latency(ms)"].notna().all()
    # efficientnet-b1 on CPU was profiled twice (two runs of 100 trials): average the runs.
    g = (d.groupby(["Model", "Accel", "batchsize"], sort=True)
         .agg(latency_ms=("avg_latency(ms)", "mean"), accuracy=("Accuracy", "first"),
              n=("avg_latency(ms)", "size"))
         .reset_index())
    assert set(g.n) <= {1, 2}
    return pd.DataFrame({"batch": g.batchsize.astype(int), "hardware": g.Accel.map(PROTEUS_HW),
                         "units": 1, "latency_ms": g.latency_ms, "variant": g.Model,
                         "accuracy": g.accuracy})


def proteus_profiles(shared: Path) -> None:
    t = proteus_table(shared)
    common = {
        "source": "proteus/", "original": "proteus/aggregate_profiled.csv "
                                          "(= profiling/aggregate_profiled.csv @ 6967c932)",
        "statistic": "avg_latency(ms) = mean latency of one batch (ONNX Runtime call, incl. "
                     "session-call overhead). Note the Proteus simulator itself uses 50th_pct; for "
                     "the 160 hand-entered GPU rows (empty Trials) 50th_pct = avg.",
        "conversion": "none (ms per batch). hardware: onnxruntime_cpu -> `cpu-whole` (one whole "
                      "CPU, core count not stated in the source, so units=1 device and NOT "
                      "comparable with per-core `cpu` rows), onnxruntime_gpu_pascal -> `gpu-pascal`,"
                      " onnxruntime_gpu_ampere -> `gpu-ampere`; units = 1 device. The two "
                      "duplicate efficientnet-b1/onnxruntime_cpu runs are averaged. accuracy = "
                      "the source `Accuracy` column (top-1 % for classifiers, mAP for YOLOv5, "
                      "task metric for NLP; as reported by Proteus, e.g. its yolov5m < yolov5s).",
        "citation": CITE["proteus"]}
    seen = set()
    for fam in PROTEUS_FAMILIES:
        members = [ln.split(",")[0].strip() for ln in
                   (shared / "proteus" / "model_variants" / f"{fam}.txt").read_text().splitlines()
                   if ln.strip()]
        sub = t[t.variant.isin(members)]
        assert set(sub.variant) == set(members), (fam, set(members) - set(sub.variant))
        seen |= set(members)
        name = "yolov5" if fam == "yolo" else fam
        write_profile(f"proteus_{name}.csv", sub, dict(common, model=f"Proteus {fam} family "
                      f"({len(members)} variants; list = traces/model_variants/{fam})",
                      filter=f"Model in {members}; all accelerators and batch sizes"))
    assert seen == set(t.variant), set(t.variant) - seen
    for key, model in PROTEUS_SINGLE.items():
        sub = t[(t.variant == model) & t.hardware.str.startswith("gpu-")]
        write_profile(f"proteus_{key}_gpu.csv", sub, dict(common, model=f"{model} (GPU rows only)",
                      filter=f"Model == {model}; Accel in onnxruntime_gpu_pascal, "
                             f"onnxruntime_gpu_ampere"))


# ----------------------------------------------------------------------------- Loki
LOKI_BATCHES = [1, 2, 4, 8, 16, 32, 64]


def loki_accuracy(shared: Path, task: str) -> dict[str, float]:
    txt = (shared / "loki" / "model_variants" / f"{task}.txt").read_text().splitlines()
    return {ln.split(",")[0].strip(): float(ln.split(",")[1]) for ln in txt if ln.strip()}


def loki_profiles(shared: Path) -> None:
    r = pd.read_csv(shared / "loki" / "runtimes_all_1080ti.csv", index_col=0)
    assert (r.accelerator == "1080ti").all()
    r = r.assign(variant=r.model.str.replace(r"^eb(\d)_checkpoint_150epochs$",
                                             r"efficientnet-b\1", regex=True))
    det_acc = loki_accuracy(shared, "traffic_analysis_object_detection")
    car_acc = loki_accuracy(shared, "traffic_analysis_car_classification")
    common = {
        "source": "loki/", "original": "loki/runtimes_all_1080ti.csv "
                                       "(= profiling/profiled/runtimes_all.csv @ e6bb80cc)",
        "statistic": "avg_runtime = mean per-batch runtime over the trials (ONNX Runtime with "
                     "CUDA on a GTX 1080 Ti, timed region includes Python pre/post-processing)",
        "conversion": "seconds x 1000 -> ms; hardware `gpu-pascal` (GTX 1080 Ti is a Pascal GPU), "
                      "units = 1 GPU; variant eb<k>_checkpoint_150epochs renamed "
                      "efficientnet-b<k> (Loki's fine-tuned car-classifier checkpoints); "
                      "accuracy = Loki's normalized accuracy (best variant of the task = 100, "
                      "loki/model_variants/traffic_analysis_*.txt)",
        "citation": CITE["loki"]}
    for fam, accs in [("yolov5", det_acc), ("efficientnet", car_acc)]:
        sub = r[r.variant.str.startswith(fam)]
        out = pd.DataFrame({"batch": sub.batch_size, "hardware": "gpu-pascal", "units": 1,
                            "latency_ms": sub.avg_runtime * 1000.0, "variant": sub.variant,
                            "accuracy": sub.variant.map(accs)})
        write_profile(f"loki_{fam}_1080ti.csv", out, dict(common, model=f"Loki {fam} variants",
                      filter=f"model starts with {'yolov5' if fam == 'yolov5' else 'eb'}; all "
                             f"batch sizes {sorted(sub.batch_size.unique().tolist())}"))
        single = {"yolov5": "yolov5s", "efficientnet": "efficientnet-b0"}[fam]
        write_profile(f"loki_{slug(single)}_1080ti.csv", out[out.variant == single],
                      dict(common, model=f"{single} only (used by traffic_analysis)",
                           filter=f"variant == {single}"))
    s = pd.read_csv(shared / "loki" / "simulator_runtimes_dedup.csv")
    face_acc = loki_accuracy(shared, "traffic_analysis_facial_recognition")
    sub = s[s.model.str.startswith("genderNet") & s.batch_size.isin(LOKI_BATCHES)]
    out = pd.DataFrame({"batch": sub.batch_size, "hardware": "gpu-pascal", "units": 1,
                        "latency_ms": sub.avg_ms, "variant": sub.model,
                        "accuracy": sub.model.map(face_acc)})
    gcommon = dict(common,
                   original="loki/simulator_runtimes_dedup.csv (one de-duplicated copy of "
                            "src/simulator/profiling/simulator_runtimes.csv @ e6bb80cc)",
                   statistic="avg_ms = mean per-batch latency (1000 trials per point per the repo's "
                             "profile_runtimes.py)",
                   conversion="none (ms per batch). The source file does not name the device (its "
                              "three accelerator labels carried identical numbers); labelled "
                              "`gpu-pascal` because Loki's profile_runtimes.py profiles on a GTX "
                              "1080 Ti. units = 1 GPU; accuracy = Loki normalized accuracy "
                              "(traffic_analysis_facial_recognition.txt)")
    write_profile("loki_gendernet_gpu.csv", out, dict(gcommon, model="genderNet variants "
                  "(VGG-style gender classifiers, Loki's facial_recognition task)",
                  filter=f"model starts with genderNet; batch_size in {LOKI_BATCHES}"))
    write_profile("loki_gendernet_base_gpu.csv", out[out.variant == "genderNet"],
                  dict(gcommon, model="genderNet only (used by traffic_analysis / shared_services)",
                       filter=f"model == genderNet; batch_size in {LOKI_BATCHES}"))


# ----------------------------------------------------------------------------- IPA salvage
def ipa_accuracies(shared: Path) -> dict[str, float]:
    acc = yaml.safe_load((shared / "ipa" / "configs" / "accuracies.yaml").read_text())
    flat = {}
    for pipe, stages in acc.items():
        if pipe == "mock":
            continue
        for stage, variants in stages.items():
            for v, a in (variants or {}).items():
                flat[v] = float(a)
    return flat


# accuracies of the two wav2vec2 ASR variants are commented out in IPA's accuracies.yaml
# ("commented-out entries were not used"); their -WER values are quoted from those comments.
IPA_COMMENTED_ASR = {"facebook-wav2vec2-base-960h": -33.85, "facebook-wav2vec2-large-960h": -27.65}


def ipa_profiles(shared: Path) -> None:
    acc = ipa_accuracies(shared)
    li = pd.read_csv(shared / "ipa" / "profile_salvage_nlp-li_series98.csv")
    assert len(li) == 42
    out = pd.DataFrame({"batch": li.max_batch_size, "hardware": "cpu", "units": li.cpu_cores,
                        "latency_ms": li.model_latency_avg_s * 1000.0, "variant": li.model_variant,
                        "accuracy": li.model_variant.map(acc)})
    write_profile("ipa_nlp_li_cpu.csv", out, {
        "model": "nlp-li stage: dinalzein/xlm-roberta-base-finetuned-language-identification",
        "source": "ipa/", "original": "ipa/profile_salvage_nlp-li_series98.csv (printed output of "
                                      "series-98-li.ipynb, IPA profiling series 98)",
        "filter": "all 42 rows (max_batch_size 1..64 x cpu_cores 1..32, load 20 RPS)",
        "statistic": "model_latency_avg_s = average in-container model latency per batch",
        "conversion": "seconds x 1000 -> ms; batch = MLServer max_batch_size (adaptive batching "
                      "cap; at 20 RPS offered load real batches may be smaller, as in IPA's own use "
                      "of these profiles); units = cpu_cores (Kubernetes request = limit; Xeon "
                      "Gold 6126); accuracy = 99.59 from IPA accuracies.yaml",
        "citation": CITE["ipa"]})
    a = pd.read_csv(shared / "ipa" / "profile_salvage_audio_series85_100.csv")
    assert (a.max_batch_size == 1).all()
    # series 100 covers cores 1..32 for s2t-small/medium; series 85 covers cores 1,2,4,8 for all
    # five variants. Keep series 100 for the two variants it has (same identities would clash)
    # and series 85 for the other three.
    s100 = set(a[a.series == 100].model_variant)
    keep = a[(a.series == 100) | ~a.model_variant.isin(s100)]
    wer = keep.model_variant.map(lambda v: acc.get(v, IPA_COMMENTED_ASR.get(v)))
    assert wer.notna().all()
    out = pd.DataFrame({"batch": keep.max_batch_size, "hardware": "cpu", "units": keep.cpu_cores,
                        "latency_ms": keep.model_latency_p99_s * 1000.0,
                        "variant": keep.model_variant, "accuracy": 100.0 + wer})
    info = {
        "source": "ipa/", "original": "ipa/profile_salvage_audio_series85_100.csv (printed outputs "
                                      "of series-85-final-audio.ipynb and series-100-final-audio.ipynb)",
        "statistic": "model_latency_p99_s = p99 in-container model latency per batch (the only "
                     "latency statistic the salvaged notebooks printed for ASR; IPA's configs use "
                     "reference_latency p99 too)",
        "conversion": "seconds x 1000 -> ms; batch 1 only (max_batch_size 1); units = cpu_cores; "
                      "accuracy = 100 - WER (%) i.e. 100 + IPA's '-WER' value (wav2vec2 values "
                      "are the commented-out entries of accuracies.yaml)",
        "citation": CITE["ipa"]}
    write_profile("ipa_asr_cpu.csv", out, dict(info, model="ASR stage (audio): 5 variants",
                  filter="series 100 rows for s2t-small/medium (cores 1..32); series 85 rows for "
                         "s2t-large, wav2vec2-base, wav2vec2-large (cores 1,2,4,8); load 10 RPS"))
    write_profile("ipa_asr_s2t_small_cpu.csv",
                  out[out.variant == "facebook-s2t-small-librispeech-asr"],
                  dict(info, model="ASR stage: facebook/s2t-small-librispeech-asr (IPA's initial "
                                   "audio variant)",
                       filter="series 100, model_variant facebook-s2t-small-librispeech-asr, "
                              "cores 1,2,4,8,16,32"))


# ----------------------------------------------------------------------------- traces
def traces(shared: Path) -> dict[str, dict]:
    rps = pd.read_csv(shared / "web-service-datasets" / "twitter_2021-08_rps_per_second.csv")["rps"]
    rps = rps.to_numpy()
    win = pd.read_csv(shared / "ipa" / "trace_windows.csv")
    stats = {}
    for pattern, g in win.groupby("pattern", sort=False):
        g = g.sort_values("segment")
        damp = g.damping_factor.unique()
        assert len(damp) == 1
        raw = np.concatenate([rps[r.start_s:r.end_s] for r in g.itertuples()])
        assert len(raw) == g.duration_s.sum()
        damped = (raw / damp[0]).astype(int)  # IPA loader: int(rps / damping_factor)
        df = pd.DataFrame({"second": np.arange(len(raw)), "rps_raw": raw, "rps": damped})
        assert (df.rps >= 0).all() and df.rps_raw.dtype.kind == "i"
        df.to_csv(TRACES / f"twitter_{pattern}.csv", index=False, lineterminator="\n")
        stats[pattern] = {
            "segments": [(int(r.start_s), int(r.end_s)) for r in g.itertuples()],
            "damping": int(damp[0]), "seconds": len(df), "mean_raw": float(raw.mean()),
            "mean": float(damped.mean()), "min": int(damped.min()), "max": int(damped.max()),
            "p95": float(np.percentile(damped, 95)), "used_by": g.used_by_configs.iloc[0]}
    lines = ["# Twitter trace windows used by IPA (per second)", "",
             "Generated by `scripts/derive_datasets.py`; do not edit by hand.", "",
             "- Source series: `../shared/data/web-service-datasets/twitter_2021-08_rps_per_second.csv`"
             " (row i = tweets+deletes in second i of the Aug-2021 Twitter stream grab; 1,899,061 s).",
             "- Windows: `../shared/data/ipa/trace_windows.csv`, compiled from the `workload_config` "
             "of IPA's 40 final experiment configs. `start_s`/`end_s` are 0-based indices; IPA's load "
             "generator takes `workload[start:end]` and sends `int(rps / damping_factor)` requests "
             "in each second (`load_tester/barazmoon/twitter/loader.py`). Patterns with two segments "
             "are the concatenation of the segments in order (as IPA's configs list them; "
             "`steady_high` lists the same segment twice).",
             "- Columns: `second` = 0-based position in the (concatenated) pattern; `rps_raw` = the "
             "source count for that second; `rps` = `int(rps_raw / damping_factor)` (damping 8).",
             f"- Citation: {CITE['twitter']} IPA: {CITE['ipa']}", "",
             "| file | segments [start,end) | seconds | mean rps_raw | mean rps | min | p95 | max | used by IPA configs |",
             "|---|---|---|---|---|---|---|---|---|"]
    for p, s in stats.items():
        lines.append(f"| twitter_{p}.csv | {s['segments']} | {s['seconds']} | {s['mean_raw']:.4f} | "
                     f"{s['mean']:.4f} | {s['min']} | {s['p95']:.1f} | {s['max']} | {s['used_by']} |")
    lines += ["", "The pipelines in `../pipelines/` take their default `rate_rps` from the `mean rps_raw` "
              "column (undamped, rounded to 4 decimals; see ../pipelines/README.md for why): `bursty` for single-flow pipelines; one pattern per flow "
              "in the shared-service graphs.", ""]
    (TRACES / "PROVENANCE.md").write_text("\n".join(lines))
    return stats


# ----------------------------------------------------------------------------- instances
PRICES = {"cpu": 1.0, "gpu-pascal": 46.0, "gpu-ampere": 93.0}
QUEUEING = "batch-fill"
IPA_SLA_FACTOR = 5      # sla_factor of all IPA final configs
IPA_TASK_FACTOR = 5     # hard-coded "* 5" in optimizer/models.py Task.sla
SHARED_SLA_K = 5.0      # shared-service flows: SLA = k x fastest batch-1 longest path


def profile_of(node: dict) -> pd.DataFrame:
    return _frames[Path(node["profile"]).name]


def ipa_stage_sla(df: pd.DataFrame) -> float:
    """IPA's Task.sla for one stage: batch-1 latency under the largest allocation x sla_factor,
    averaged over the stage's variants (here: over the rows at that allocation, i.e. the variants
    and hardware kinds of the profile), x 5."""
    b1 = df[df.batch == df.batch.min()]
    assert b1.batch.iloc[0] == 1
    top = b1[b1.units == b1.units.max()]
    return float(top.latency_ms.mean()) * IPA_SLA_FACTOR * IPA_TASK_FACTOR


def topo_order(names: list[str], edges: list[list]) -> list[str]:
    indeg = {n: 0 for n in names}
    succ = {n: [] for n in names}
    for e in edges:
        succ[e[0]].append(e[1])
        indeg[e[1]] += 1
    order, ready = [], [n for n in names if indeg[n] == 0]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    assert len(order) == len(names), "graph has a cycle"
    return order


def flows_of(inst: dict) -> list[dict]:
    if "flows" in inst:
        return inst["flows"]
    return [{"name": "main", "rate_rps": inst["rate_rps"], "sla_ms": inst["sla_ms"],
             "nodes": [n["name"] for n in inst["nodes"]]}]


def longest_path(flow_nodes: list[str], edges: list[list], lat: dict[str, float]) -> float:
    fset = set(flow_nodes)
    fe = [e for e in edges if e[0] in fset and e[1] in fset]
    order = topo_order(sorted(fset), fe)
    best = {}
    for n in order:
        preds = [(e[0], e[2] if len(e) > 2 else 0.0) for e in fe if e[1] == n]
        best[n] = lat[n] + max([best[p] + d for p, d in preds], default=0.0)
    return max(best.values())


def node_rates(inst: dict) -> dict[str, float]:
    rate = {n["name"]: 0.0 for n in inst["nodes"]}
    for f in flows_of(inst):
        for v in f["nodes"]:
            rate[v] += f["rate_rps"]
    return {n["name"]: n.get("multiplier", 1.0) * rate[n["name"]] for n in inst["nodes"]}


def fastest_latency(df: pd.DataFrame, lam: float, queueing: str) -> float:
    p = df.latency_ms.to_numpy(float)
    b = df.batch.to_numpy(float)
    q = {"none": 0.0 * p, "batch-fill": 1000.0 * (b - 1) / lam, "worst-case": p}[queueing]
    return float((p + q).min())


def check_instance(inst: dict, path: Path) -> dict:
    """Spec checks (structure) + feasibility of the all-fastest choice under every queueing model
    (asserted for the instance's own model, batch-fill). Returns a summary for the README."""
    names = [n["name"] for n in inst["nodes"]]
    assert len(set(names)) == len(names), "duplicate node names"
    for n in inst["nodes"]:
        assert n.get("multiplier", 1.0) > 0 and math.isfinite(n.get("multiplier", 1.0))
        assert (path.parent / n["profile"]).resolve() == (PROFILES / Path(n["profile"]).name).resolve()
        assert "max_replicas" not in n and "max_batch" not in n
    for e in inst["edges"]:
        assert len(e) in (2, 3) and e[0] in names and e[1] in names and e[0] != e[1]
        assert len(e) == 2 or (math.isfinite(e[2]) and e[2] >= 0)
    topo_order(names, inst["edges"])
    flows = flows_of(inst)
    covered = set()
    for f in flows:
        assert f["rate_rps"] > 0 and f["sla_ms"] > 0
        assert set(f["nodes"]) <= set(names) and len(f["nodes"]) == len(set(f["nodes"]))
        covered |= set(f["nodes"])
    assert covered == set(names), f"nodes in no flow: {set(names) - covered}"
    lam = node_rates(inst)
    summary = {"flows": {}}
    for qm in ("none", "batch-fill", "worst-case"):
        lat = {v: fastest_latency(profile_of(n), lam[v], qm)
               for v, n in zip(names, inst["nodes"])}
        for f in flows:
            lp = longest_path(f["nodes"], inst["edges"], lat)
            summary["flows"].setdefault(f["name"], {})[qm] = lp
            if qm == inst.get("queueing", "batch-fill"):
                assert lp <= f["sla_ms"] + 1e-6, (path.name, f["name"], lp, f["sla_ms"])
    summary["lambda"] = lam
    return summary


def write_instance(fname: str, inst: dict) -> dict:
    path = PIPELINES / fname
    summ = check_instance(inst, path)
    path.write_text(json.dumps(inst, indent=1) + "\n")
    back = json.loads(path.read_text())
    assert back == inst
    summ["rows"] = sum(len(profile_of(n)) for n in inst["nodes"])
    return summ


def P(name: str) -> str:
    assert name in _frames, name
    return f"../profiles/{name}"


def ipa_pipelines(shared: Path, rate: float) -> dict[str, dict]:
    pipes = yaml.safe_load((shared / "ipa" / "pipelines.yaml").read_text())
    # stage -> (CPU profile, GPU profile or None, mapping note)
    M = {
        "yolo": ("packrat_inception_v3_cpu.csv", "proteus_yolov5s_gpu.csv",
                 "yolo (YOLOv5) -> CPU: Packrat Inception-v3 grid (no YOLO CPU-core grid exists in "
                 "the data; closest measured CNN with a cores x batch grid) / GPU: Proteus yolov5s"),
        "resnet-human": ("packrat_resnet50_cpu.csv", "proteus_resnet50_gpu.csv",
                         "resnet-human -> ResNet-50 (one of the stage's own variants): CPU Packrat "
                         "ResNet-50 / GPU Proteus resnet50_v1"),
        "audio": ("ipa_asr_s2t_small_cpu.csv", None,
                  "audio (ASR) -> IPA's own measured s2t-small profile (series 100, batch 1 only, "
                  "p99); no GPU measurement exists"),
        "nlp-qa": ("packrat_bert_cpu.csv", "proteus_roberta_base_gpu.csv",
                   "nlp-qa (deepset/roberta-base-squad2) -> CPU: Packrat BERT grid (RoBERTa-base "
                   "has the BERT-base architecture) / GPU: Proteus roberta-base"),
        "nlp-sent": ("packrat_bert_cpu.csv", None,
                     "nlp-sent (DistilBERT/BERT/RoBERTa sentiment) -> Packrat BERT grid"),
        "nlp-sum": ("packrat_gpt2_cpu.csv", "proteus_t5_base_gpu.csv",
                    "nlp-sum (distilbart-xsum) -> CPU: Packrat GPT-2 grid (transformer decoder, "
                    "one forward pass) / GPU: Proteus t5-base (seq2seq summariser family)"),
        "nlp-li": ("ipa_nlp_li_cpu.csv", "proteus_roberta_base_gpu.csv",
                   "nlp-li -> CPU: IPA's own measured xlm-roberta-base language-id grid (series 98) "
                   "/ GPU: Proteus roberta-base (same architecture family)"),
        "nlp-trans": ("packrat_gpt2_cpu.csv", "proteus_t5_small_gpu.csv",
                      "nlp-trans (opus-mt-fr-en) -> CPU: Packrat GPT-2 grid / GPU: Proteus "
                      "t5-small (seq2seq translation-capable)"),
    }
    out = {}
    for pname, p in pipes.items():
        stages = [s["node"] for s in p["stages"]]
        for hw in ("cpu", "gpu"):
            idx = 0 if hw == "cpu" else 1
            profs = [M[s][idx] for s in stages]
            if any(x is None for x in profs):
                continue
            nodes = [{"name": s, "multiplier": 1.0, "profile": P(pr)} for s, pr in zip(stages, profs)]
            stage_sla = [ipa_stage_sla(_frames[pr]) for pr in profs]
            sla = round(sum(stage_sla), 1)
            used = sorted({h for pr in profs for h in _frames[pr].hardware.unique()})
            inst = {
                "name": f"{pname}_{hw}",
                "description": (
                    f"IPA '{pname}' pipeline ({p['description']}); linear chain "
                    f"{' -> '.join(stages)} as in ipa/pipelines.yaml (IPA's router sends every "
                    f"request through each stage once, so all multipliers are 1). Stage profiles "
                    f"({hw.upper()}): " + "; ".join(M[s][2] for s in stages) + ". SLA = IPA rule: "
                    "per stage, batch-1 latency at the largest measured allocation x sla_factor 5 "
                    "x 5, summed over stages (" + " + ".join(f"{x:.1f}" for x in stage_sla) +
                    " ms). rate_rps = mean undamped rate of IPA's bursty Twitter window "
                    "(datasets/traces/twitter_bursty.csv). Prices: see datasets/pipelines/README.md."
                    " Citations: IPA (Ghafouri et al., JSys 2024) and the profile sources in "
                    "datasets/profiles/PROVENANCE.md."),
                "rate_rps": rate, "sla_ms": sla, "queueing": QUEUEING, "max_utilization": 1.0,
                "prices": {h: PRICES[h] for h in used},
                "nodes": nodes,
                "edges": [[a, b] for a, b in zip(stages, stages[1:])],
            }
            out[f"{pname}_{hw}.json"] = inst
    return out


def traffic_analysis(shared: Path, rate: float) -> dict:
    app = json.loads((shared / "loki" / "apps" / "traffic_analysis.json").read_text().rstrip().rstrip(","))
    slo = float(app["latencySLOInMSec"])
    br = pd.read_csv(shared / "loki" / "branching_all.csv", index_col=0).set_index("model")
    det = "yolov5s"
    mult = float(br.loc[det, "avg_mult_factor"])
    car = mult * float(br.loc[det, "avg_car_branch_prob"])
    face = mult * float(br.loc[det, "avg_face_branch_prob"])
    return {
        "name": "traffic_analysis_gpu",
        "description": (
            "Loki traffic-analysis DAG (loki/apps/traffic_analysis.json): object_detection "
            "(YOLOv5) fans out to car_classification (EfficientNet, label car) and "
            "facial_recognition (genderNet, label person). The base problem has one multiplier per "
            "node, so one detector variant is fixed: yolov5s, whose measured branching "
            f"(loki/branching_all.csv) is avg_mult_factor {mult:.6f} objects per frame, car share "
            f"{br.loc[det, 'avg_car_branch_prob']:.6f}, face share "
            f"{br.loc[det, 'avg_face_branch_prob']:.6f}. Multiplier of a node = product of the "
            "ratios on its path from the entry (each node here has exactly one path; with several "
            "paths the per-path products would be summed): car_classification = "
            f"{mult:.6f} x {br.loc[det, 'avg_car_branch_prob']:.6f}, facial_recognition = "
            f"{mult:.6f} x {br.loc[det, 'avg_face_branch_prob']:.6f}. Profiles: yolov5s and "
            "efficientnet-b0 (Loki's eb0 car-classifier checkpoint) from Loki's GTX 1080 Ti "
            "runtimes, genderNet from Loki's simulator runtimes (device unnamed, labelled "
            f"gpu-pascal). sla_ms = Loki's latencySLOInMSec {slo:g}. rate_rps = mean undamped "
            "rate of IPA's bursty Twitter window. Citation: Loki (Ahmad, Guan, Sitaraman, "
            "HPDC 2024)."),
        "rate_rps": rate, "sla_ms": slo, "queueing": QUEUEING, "max_utilization": 1.0,
        "prices": {"gpu-pascal": PRICES["gpu-pascal"]},
        "nodes": [
            {"name": "object_detection", "multiplier": 1.0, "profile": P("loki_yolov5s_1080ti.csv")},
            {"name": "car_classification", "multiplier": round(car, 6),
             "profile": P("loki_efficientnet_b0_1080ti.csv")},
            {"name": "facial_recognition", "multiplier": round(face, 6),
             "profile": P("loki_gendernet_base_gpu.csv")},
        ],
        "edges": [["object_detection", "car_classification"],
                  ["object_detection", "facial_recognition"]],
    }


def shared_services(shared: Path, tstats: dict, hw: str) -> dict:
    br = pd.read_csv(shared / "loki" / "branching_all.csv", index_col=0).set_index("model")
    objs = float(br.loc["yolov5s", "avg_mult_factor"])
    cars = objs * float(br.loc["yolov5s", "avg_car_branch_prob"])
    faces = objs * float(br.loc["yolov5s", "avg_face_branch_prob"])
    # node -> (multiplier, CPU profile, GPU profile, what it is / mapping)
    N = {
        "object_detection": (1.0, "packrat_inception_v3_cpu.csv", "proteus_yolov5s_gpu.csv",
                             "YOLOv5s detector; CPU proxy Packrat Inception-v3 (no YOLO cores grid)"),
        "object_recognition": (objs, "packrat_resnet50_cpu.csv", "proteus_resnet50_gpu.csv",
                               "classifies every detected object: ResNet-50"),
        "face_recognition": (faces, "packrat_resnet50_cpu.csv", "loki_gendernet_base_gpu.csv",
                             "person crops: CPU ResNet-50 (Loki's earlier facial_recognition "
                             "variant) / GPU Loki genderNet"),
        "car_classification": (cars, "packrat_torchserve_mobilenet_cpu.csv",
                               "proteus_efficientnet_b0_gpu.csv",
                               "car crops: EfficientNet-b0 on GPU; CPU proxy TorchServe MobileNet "
                               "(same mobile inverted-bottleneck CNN family)"),
        "licence_plate_recognition": (cars, "packrat_torchserve_squeezenet_cpu.csv",
                                      "proteus_mobilenet1_0_gpu.csv",
                                      "every car crop (no plate-visibility ratio measured); no OCR "
                                      "model measured, proxy lightweight CNN: CPU TorchServe "
                                      "SqueezeNet / GPU Proteus mobilenet1.0"),
        "nsfw": (1.0, "packrat_resnet50_cpu.csv", "proteus_resnet50_gpu.csv",
                 "whole frame; ResNet-50 (Yahoo open_nsfw is ResNet-50 based)"),
        "language_id": (1.0, "ipa_nlp_li_cpu.csv", "proteus_roberta_base_gpu.csv",
                        "xlm-roberta-base language id: CPU IPA's measured grid / GPU Proteus "
                        "roberta-base"),
        "translation": (1.0, "packrat_gpt2_cpu.csv", "proteus_t5_small_gpu.csv",
                        "opus-mt-fr-en proxy: CPU Packrat GPT-2 / GPU Proteus t5-small"),
        "summarisation": (1.0, "packrat_gpt2_cpu.csv", "proteus_t5_base_gpu.csv",
                          "distilbart proxy: CPU Packrat GPT-2 / GPU Proteus t5-base"),
        "qa": (1.0, "packrat_bert_cpu.csv", "proteus_roberta_base_gpu.csv",
               "roberta-base-squad2: CPU Packrat BERT / GPU Proteus roberta-base"),
    }
    idx = 1 if hw == "cpu" else 2
    nodes = [{"name": k, "multiplier": round(v[0], 6), "profile": P(v[idx])} for k, v in N.items()]
    edges = [["object_detection", "car_classification"],
             ["car_classification", "licence_plate_recognition"],
             ["object_detection", "face_recognition"],
             ["object_detection", "object_recognition"],
             ["language_id", "translation"], ["translation", "summarisation"],
             ["summarisation", "qa"]]
    flow_def = [("traffic", "bursty", ["object_detection", "car_classification",
                                       "licence_plate_recognition"]),
                ("faces", "steady_low", ["object_detection", "face_recognition"]),
                ("moderation", "steady_high", ["object_detection", "object_recognition", "nsfw"]),
                ("documents", "fluctuating", ["language_id", "translation", "summarisation", "qa"])]
    b1 = {k: float(_frames[v[idx]].query("batch == 1").latency_ms.min()) for k, v in N.items()}
    flows = []
    for fname, pattern, fn in flow_def:
        lp = longest_path(fn, edges, b1)
        flows.append({"name": fname, "rate_rps": round(tstats[pattern]["mean_raw"], 4),
                      "sla_ms": round(SHARED_SLA_K * lp, 1), "nodes": fn})
    used = sorted({h for v in N.values() for h in _frames[v[idx]].hardware.unique()})
    return {
        "name": "shared_services" + ("" if hw == "cpu" else "_gpu"),
        "description": (
            "FA2-style shared-service inference graph (after Razavi et al., RTAS 2022): ten "
            "services, four flows; object_detection is shared by the traffic, faces and moderation "
            "flows (one configuration for all), nsfw runs on the whole frame in parallel with the "
            "detector (second source of the moderation flow). Node -> measured profile ("
            f"{hw.upper()}): " + "; ".join(f"{k}: {v[3]} [{v[idx]}]" for k, v in N.items()) +
            ". Multipliers from Loki's measured yolov5s branching (loki/branching_all.csv): objects "
            f"per frame {objs:.6f}, car crops = objects x car share = {cars:.6f}, person crops = "
            f"objects x face share = {faces:.6f}; licence_plate_recognition sees every car crop "
            "(path product x 1); NLP services 1. Flow rates: mean of IPA's Twitter windows after "
            "no damping (traffic = bursty, faces = steady_low, moderation = steady_high, documents "
            f"= fluctuating). Flow SLA = {SHARED_SLA_K:g} x the flow's longest path of fastest "
            "batch-1 latencies, rounded to 0.1 ms. Prices: datasets/pipelines/README.md."),
        "queueing": QUEUEING, "max_utilization": 1.0,
        "prices": {h: PRICES[h] for h in used},
        "flows": flows, "nodes": nodes, "edges": edges,
    }


def pipelines_readme(summaries: dict[str, dict], instances: dict[str, dict]) -> None:
    L = ["# Pipeline instances (spec format, `../../shared/spec/problem.md`)", "",
         "Generated by `scripts/derive_datasets.py`; do not edit by hand. Every instance references "
         "profiles in `../profiles/` by relative path, uses `queueing: batch-fill` and no "
         "`max_replicas`/`max_batch`, and was checked by the script: node names unique, every node "
         "in a flow, edges reference known nodes, graph acyclic, and **feasible at its default rate "
         "and SLA**: choosing for every node the row with the least L = p + 1000(b-1)/lambda_v gives "
         "a longest path <= SLA for every flow (asserted). Mapping of each stage to a measured "
         "profile is stated in each file's `description` and summarised below.", "",
         "## Prices (per unit per unit time; relative, cpu core = 1)", "",
         "| hardware | price | basis |", "|---|---|---|",
         "| `cpu` | 1.0 | one core (vCPU) = the unit |",
         "| `gpu-pascal` | 46.0 | ~ GCP on-demand NVIDIA P100 ($1.46/GPU-h) / N1 vCPU ($0.0316/vCPU-h), us-central1 list prices as recalled (not re-checked from this offline environment) |",
         "| `gpu-ampere` | 93.0 | ~ GCP on-demand NVIDIA A100 40GB ($2.93/GPU-h) / N1 vCPU, same caveat |",
         "| `cpu-whole` | (not used by any instance) | Proteus CPU rows are one whole CPU of unknown core count; give it a price (e.g. 16 = a 16-core socket) if you use those profiles |",
         "", "These ratios are an assumption of this project, not data; change `prices` to study "
         "other cost models. A hardware kind missing from `prices` costs 1.0 (spec).", "",
         "## SLA and rate rules", "",
         "- Default `rate_rps`: mean of the undamped (`rps_raw`) per-second rates of IPA's Twitter windows "
         "(`../traces/PROVENANCE.md`): `bursty` for single-flow instances; one pattern per flow in "
         "the shared-service graphs.",
         "- IPA chains: IPA's rule (optimizer/models.py `Task.sla` with the configs' `sla_factor` 5): "
         "per stage, the batch-1 latency under the largest measured allocation x 5 x 5 (IPA "
         "averages over the stage's variants; our single-variant profiles average over the rows at "
         "that allocation, i.e. over the GPU kinds for GPU profiles), summed over stages. IPA used "
         "p99 latencies; our profiles hold means except the ASR profile (p99).",
         "- `traffic_analysis_gpu`: Loki's own `latencySLOInMSec` (250 ms).",
         "- `shared_services*`: per flow, 5 x the flow's longest path of fastest batch-1 latencies.",
         "- Why undamped: IPA divided the trace by 8 to fit its small test cluster. At those damped "
         "rates (5-29 rps) several CPU chains are served by one 1-core batch-1 replica per node, "
         "i.e. the optimum is the cost floor and the decision is trivial. The real trace rate "
         "(40-230 rps) makes batching and replication trade off. Scale `rate_rps` by 1/8 to get "
         "IPA's damped load; the instances stay feasible at any rate because no `max_replicas` "
         "is set and b=1 rows have no queueing delay.",
         "", "## Instances", "",
         "| file | flows: rate_rps / sla_ms | nodes -> profile (multiplier) | all-fastest longest path under none / batch-fill / worst-case (ms) |",
         "|---|---|---|---|"]
    for fname, inst in instances.items():
        s = summaries[fname]
        fl = "; ".join(f"{f['name']}: {f['rate_rps']} / {f['sla_ms']}" for f in flows_of(inst))
        nd = "; ".join(f"{n['name']} -> `{Path(n['profile']).name}` ({n.get('multiplier', 1.0):g})"
                       for n in inst["nodes"])
        lp = "; ".join(f"{k}: " + " / ".join(f"{v[q]:.1f}" for q in ("none", "batch-fill", "worst-case"))
                       for k, v in s["flows"].items())
        L.append(f"| {fname} | {fl} | {nd} | {lp} |")
    L += ["", "## Not provided", "",
          "- GPU versions of `audio-qa` and `audio-sent`: no GPU measurement of any ASR model exists "
          "in the data.",
          "- A CPU version of `traffic_analysis`: no per-core CPU profile of YOLOv5/EfficientNet/"
          "genderNet exists (Proteus CPU rows are whole-device and have no genderNet).",
          "- Edge transfer latencies: none measured; all edges have d_e = 0.", ""]
    (PIPELINES / "README.md").write_text("\n".join(L))


def profiles_provenance() -> None:
    L = ["# Profiles: provenance of every CSV", "",
         "Generated by `scripts/derive_datasets.py`; do not edit by hand. Columns follow the spec "
         "(`../../shared/spec/problem.md`): `batch,hardware,units,latency_ms[,variant,accuracy]`; "
         "`latency_ms` = processing time of ONE batch of `batch` requests on one replica holding "
         "`units` units of `hardware`. Latencies are rounded to 4 decimals (0.1 us); nothing else "
         "is changed except the stated unit conversions / aggregation. Every file was validated by "
         "the script (exact columns, integer batch >= 1, finite units and latency > 0, finite "
         "accuracy, unique (batch, hardware, units, variant)).", "",
         "Hardware kinds: `cpu` (units = cores/threads; Packrat = CloudLab 2-socket server, IPA = "
         "Xeon Gold 6126 on Chameleon; different machines), `cpu-whole` (Proteus ONNX Runtime on a "
         "whole CPU of unknown core count, units = 1), `gpu-pascal` (units = 1 GPU; Proteus "
         "'gpu_pascal', Loki GTX 1080 Ti), `gpu-ampere` (units = 1 GPU; Proteus 'gpu_ampere').", ""]
    for name, info in _provenance:
        L += [f"## {name}", "",
              f"- model: {info['model']}",
              f"- rows: {info['rows']} ({info['grid']})",
              f"- source folder: `../shared/data/{info['source']}`; original file: {info['original']}",
              f"- rows/filters used: {info['filter']}",
              f"- statistic: {info['statistic']}",
              f"- conversion / units: {info['conversion']}",
              f"- citation: {info['citation']}", ""]
    (PROFILES / "PROVENANCE.md").write_text("\n".join(L))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(REPO / ".." / "shared" / "data"),
                    help="path to the shared data folder (default ../shared/data from the repo root)")
    args = ap.parse_args(argv)
    shared = Path(args.shared).resolve()
    assert (shared / "README.md").exists(), f"no shared data at {shared}"
    for d in (PROFILES, PIPELINES, TRACES):
        d.mkdir(parents=True, exist_ok=True)
        for f in d.iterdir():  # regenerate from scratch (only our generated file types)
            if f.suffix in (".csv", ".json") or f.name in ("PROVENANCE.md", "README.md"):
                f.unlink()

    packrat_profiles(shared)
    proteus_profiles(shared)
    loki_profiles(shared)
    ipa_profiles(shared)
    profiles_provenance()

    tstats = traces(shared)
    rate = round(tstats["bursty"]["mean_raw"], 4)

    instances = ipa_pipelines(shared, rate)
    instances["traffic_analysis_gpu.json"] = traffic_analysis(shared, rate)
    instances["shared_services.json"] = shared_services(shared, tstats, "cpu")
    instances["shared_services_gpu.json"] = shared_services(shared, tstats, "gpu")
    summaries = {f: write_instance(f, inst) for f, inst in instances.items()}
    pipelines_readme(summaries, instances)

    print(f"profiles: {len(_frames)} files, {sum(len(d) for d in _frames.values())} rows")
    for name, df in _frames.items():
        print(f"  {name}: {len(df)} rows")
    print("traces: " + ", ".join(f"{p} ({s['seconds']} s, mean {s['mean']:.4f} rps)"
                                 for p, s in tstats.items()))
    print(f"pipelines: {len(instances)} instances")
    for f, s in summaries.items():
        fl = ", ".join(f"{k}: fastest {v['batch-fill']:.1f} ms" for k, v in s["flows"].items())
        print(f"  {f}: {fl}")
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"datasets/ total size: {size / 1e6:.3f} MB")
    assert size < 5e6
    return 0


if __name__ == "__main__":
    sys.exit(main())
