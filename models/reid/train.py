"""Re-ID training on pseudo-labels with background-aware meta-learning (METHOD.md, stage 3).

Each epoch: embed every training crop, cluster the embeddings with DBSCAN (pseudo-labels), start a new
classifier from the cluster centroids, split the crops by background ratio into meta-train / meta-test,
then take ``iters_per_epoch`` steps: PK batches from both sides and the second-order meta update (or, with
``train.meta: false``, plain steps on PK batches of all crops).

The unsupervised entry point ``train_unsupervised`` takes images and background ratios only; it has no
way to see an identity label. ``train_supervised`` (true labels, the upper bound of the ablation) is a
separate entry point that is given labels explicitly.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from models.reid.augment import PKSampler, augment, normalise
from models.reid.checkpoint import ReidCheckpoint, save_checkpoint
from models.reid.config import ReidConfig
from models.reid.features import EvalSplit, extract_embeddings
from models.reid.losses import reid_loss
from models.reid.meta import meta_split, meta_step
from models.reid.plots import plot_curves
from models.reid.pseudo_labels import cluster_features
from models.reid.vit import ReidNet

Log = Callable[[str], None]


class _TrainModel(nn.Module):
    """The network plus this epoch's classifier: images -> (features before the neck, class logits)."""

    def __init__(self, net: ReidNet, classifier: nn.Linear) -> None:
        super().__init__()
        self.net = net
        self.classifier = classifier

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature, neck = self.net(images)
        return feature, self.classifier(neck)


@dataclass
class EpochRecord:
    epoch: int
    n_clusters: int
    n_outliers: int
    loss_train: float
    loss_test: float | None
    mode: str
    meta_train_bins: tuple[int, ...] = ()
    meta_test_bins: tuple[int, ...] = ()
    eval: dict | None = None


@dataclass
class TrainResult:
    checkpoint: Path
    seconds: float
    epochs: list[EpochRecord] = field(default_factory=list)
    final_eval: dict | None = None


def _centroid_classifier(embeddings: np.ndarray, labels: np.ndarray, device: torch.device) -> nn.Linear:
    """A bias-free classifier whose rows start at the L2-normalised centroid of each cluster, so the first
    steps of an epoch do not spend their gradient on a random head."""
    n_classes = int(labels.max()) + 1
    centroids = np.stack([embeddings[labels == c].mean(axis=0) for c in range(n_classes)])
    head = nn.Linear(embeddings.shape[1], n_classes, bias=False)
    head.weight.data.copy_(F.normalize(torch.from_numpy(centroids).float(), dim=1))
    return head.to(device)


def _batch(bank: torch.Tensor, idx: np.ndarray, labels: np.ndarray, cfg: ReidConfig, gen: torch.Generator):
    device = cfg.torch_device()
    images = augment(
        bank[torch.from_numpy(idx)].to(device),
        gen,
        flip_p=cfg.data.flip_p,
        pad_px=cfg.data.pad_px,
        erase_p=cfg.data.erase_p,
    )
    targets = torch.from_numpy(labels[idx]).long().to(device)
    return normalise(images, cfg.data.mean, cfg.data.std), targets


def _enough_classes(labels: np.ndarray, subset: np.ndarray) -> bool:
    return len(np.unique(labels[subset][labels[subset] >= 0])) >= 2


def _run(
    cfg: ReidConfig,
    bank: torch.Tensor,
    ratios: np.ndarray | None,
    init: ReidCheckpoint | None,
    out_dir: Path,
    label_source: Callable[[np.ndarray], np.ndarray],
    eval_split: EvalSplit | None,
    progress: bool,
    log: Log,
) -> TrainResult:
    tc = cfg.train
    device = cfg.torch_device()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    net = ReidNet(cfg.model, cfg.data.image_size)
    if init is not None:
        net.encoder.load_state_dict(init.states["encoder"])
        if "neck" in init.states:
            net.neck.load_state_dict(init.states["neck"])
    net.to(device).train()
    net_optim = torch.optim.Adam(
        [p for p in net.parameters() if p.requires_grad], lr=tc.lr, weight_decay=tc.weight_decay
    )
    total_steps = tc.epochs * tc.iters_per_epoch
    result = TrainResult(out_dir / "reid.pt", 0.0)
    start = time.perf_counter()
    for epoch in range(1, tc.epochs + 1):
        embeddings = extract_embeddings(net, bank, cfg)
        labels = label_source(embeddings)
        n_clusters = int(labels.max()) + 1 if (labels >= 0).any() else 0
        record = EpochRecord(epoch, n_clusters, int((labels < 0).sum()), math.nan, None, "skipped")
        all_idx = np.flatnonzero(labels >= 0)
        if n_clusters < 2:
            log(f"epoch {epoch}: {n_clusters} clusters, nothing to learn from; loosen train.cluster.eps")
            result.epochs.append(record)
            continue
        model = _TrainModel(net, _centroid_classifier(embeddings, labels, device))
        head_optim = torch.optim.Adam(model.classifier.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        use_meta = tc.meta and ratios is not None
        if use_meta:
            split = meta_split(ratios[all_idx], tc.bins, rng)
            tr_idx, te_idx = all_idx[split.train], all_idx[split.test]
            record.meta_train_bins, record.meta_test_bins = split.train_bins, split.test_bins
            if not (_enough_classes(labels, tr_idx) and _enough_classes(labels, te_idx)):
                log(f"epoch {epoch}: a meta side holds < 2 pseudo-identities; plain steps this epoch")
                use_meta = False
        record.mode = "meta" if use_meta else "plain"
        samplers = (
            (
                PKSampler(labels[tr_idx], tc.p, tc.k, cfg.seed + epoch),
                PKSampler(labels[te_idx], tc.p, tc.k, cfg.seed + epoch + 7919),
            )
            if use_meta
            else (PKSampler(labels[all_idx], tc.p, tc.k, cfg.seed + epoch), None)
        )
        pools = (tr_idx, te_idx) if use_meta else (all_idx, None)

        def loss_fn(output: tuple[torch.Tensor, torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
            return reid_loss(output[0], output[1], targets, tc.margin, tc.label_smoothing)

        sums = np.zeros(2)
        train_batches = samplers[0].batches(tc.iters_per_epoch)
        test_batches = samplers[1].batches(tc.iters_per_epoch) if use_meta else None
        bar = tqdm(
            total=tc.iters_per_epoch, desc=f"epoch {epoch}/{tc.epochs} ({record.mode})", disable=not progress
        )
        for it, tr in enumerate(train_batches):
            lr = tc.lr * 0.5 * (1 + math.cos(math.pi * ((epoch - 1) * tc.iters_per_epoch + it) / total_steps))
            for opt in (net_optim, head_optim):
                for group in opt.param_groups:
                    group["lr"] = lr
            net_optim.zero_grad(set_to_none=True)
            head_optim.zero_grad(set_to_none=True)
            train_batch = _batch(bank, pools[0][tr], labels, cfg, gen)
            if use_meta:
                test_batch = _batch(bank, pools[1][next(test_batches)], labels, cfg, gen)
                loss_tr, loss_te = meta_step(model, train_batch, test_batch, loss_fn, tc.inner_lr)
                sums += (loss_tr.item(), loss_te.item())
            else:
                loss = loss_fn(model(train_batch[0]), train_batch[1])
                loss.backward()
                sums[0] += loss.item()
            net_optim.step()
            head_optim.step()
            bar.update(1)
            bar.set_postfix(clusters=n_clusters, loss=f"{sums[0] / (it + 1):.3f}")
        bar.close()
        record.loss_train = float(sums[0] / tc.iters_per_epoch)
        record.loss_test = float(sums[1] / tc.iters_per_epoch) if use_meta else None
        if eval_split is not None and tc.eval_every and (epoch % tc.eval_every == 0 or epoch == tc.epochs):
            record.eval = eval_split.score(net, cfg).as_dict()
        log(
            f"epoch {epoch}: {n_clusters} clusters, {record.n_outliers} outliers, {record.mode} loss "
            f"{record.loss_train:.3f}" + (f", mAP {record.eval['mAP']:.3f}" if record.eval else "")
        )
        result.epochs.append(record)
    result.seconds = time.perf_counter() - start
    if eval_split is not None:
        # The last epoch's evaluation already scored the final weights, unless that epoch was skipped.
        last = result.epochs[-1].eval if result.epochs and result.epochs[-1].epoch == tc.epochs else None
        result.final_eval = last or eval_split.score(net, cfg).as_dict()
    _write_outputs(cfg, net, result, out_dir)
    return result


def _write_outputs(cfg: ReidConfig, net: ReidNet, result: TrainResult, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "seconds": result.seconds,
        "final_eval": result.final_eval,
        "epochs": [asdict(e) for e in result.epochs],
    }
    save_checkpoint(
        result.checkpoint,
        cfg,
        "train",
        {"encoder": net.encoder.state_dict(), "neck": net.neck.state_dict()},
        {**summary, "config": cfg.model_dump(mode="json")},
    )
    losses = {
        "meta-train / plain": [e.loss_train for e in result.epochs],
        "meta-test": [e.loss_test for e in result.epochs if e.loss_test is not None],
    }
    plot_curves(out_dir / "train_loss.png", losses, "epoch", "Re-ID training loss")
    evals = [e for e in result.epochs if e.eval]
    if evals:
        plot_curves(
            out_dir / "train_map.png",
            {"mAP": [e.eval["mAP"] for e in evals], "Rank-1": [e.eval["rank1"] for e in evals]},
            f"evaluation (every {cfg.train.eval_every} epochs)",
            "Re-ID retrieval on the evaluation split",
        )
    (out_dir / "train.json").write_text(json.dumps(summary, indent=2, default=str))


def train_unsupervised(
    cfg: ReidConfig,
    bank: torch.Tensor,
    ratios: np.ndarray | None,
    init: ReidCheckpoint | None,
    out_dir: Path,
    eval_split: EvalSplit | None = None,
    progress: bool = True,
    log: Log = print,
    camera_ids: np.ndarray | None = None,
) -> TrainResult:
    """Train on DBSCAN pseudo-labels, re-clustered every epoch.

    bank: (N, 3, H, W) uint8 RGB training crops; ratios: (N,) background ratios from the refined patch masks
    (needed for meta-learning; None trains without it); init: a pre-trained checkpoint or None (random init).
    eval_split: held-out query/gallery crops for the mAP curve (their labels score the model; they never
    reach the training step). camera_ids: (N,) camera of each crop, for camera-aware clustering
    (``train.cluster.camera_centre``). Writes ``reid.pt``, ``train.json``, ``train_loss.png``, ``train_map.png``.
    """
    return _run(
        cfg,
        bank,
        ratios,
        init,
        out_dir,
        lambda emb: cluster_features(emb, cfg.train.cluster, camera_ids).labels,
        eval_split,
        progress,
        log,
    )


def train_supervised(
    cfg: ReidConfig,
    bank: torch.Tensor,
    labels: np.ndarray,
    ratios: np.ndarray | None,
    init: ReidCheckpoint | None,
    out_dir: Path,
    eval_split: EvalSplit | None = None,
    progress: bool = True,
    log: Log = print,
) -> TrainResult:
    """The same loop on the true identities (the ablation's upper bound); labels: (N,) int."""
    dense = np.unique(np.asarray(labels), return_inverse=True)[1].astype(np.int64)
    return _run(cfg, bank, ratios, init, out_dir, lambda _emb: dense, eval_split, progress, log)
