"""The training loop and its configuration; returns a trained model and its checkpoint metadata."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..evaluate import evaluate_split
from ..fold import folded
from ..mnist import Split, checksums
from ..model import ARCHITECTURE, ARCHITECTURES, check_architecture, count_parameters, network
from ..predict import model_input
from ..validation import is_finite_number, is_integer
from .augment import AffineRanges, coarse, elastic, random_affine, stroke_width

VARIANTS = ("none", "l1", "l2", "l1_l2")
# torch's generators take seeds of 64 bits.
MAX_SEED = 2 ** 63 - 1
# How many batches apart the progress bar reads the running loss back from the device.
PROGRESS_EVERY = 50


@dataclass
class TrainConfig:
    architecture: str = ARCHITECTURE
    variant: str = "none"         # which regularisation: an L1 penalty in the loss, L2 as weight decay, both
    epochs: int = 20
    batch_size: int = 32
    lr: float = 0.1               # peak of the one-cycle schedule
    momentum: float = 0.9
    l1: float = 5e-6              # coefficient of sum(|w|) over convolution weights
    l2: float = 1e-4              # weight decay
    dropout: float = 0.05
    augment: bool = True          # random affine warps
    rotation: float = 10.0        # ...turning each image up to this many degrees either way
    elastic: bool = False         # elastic distortion on half of each batch
    stroke_width: bool = False    # thicker or thinner strokes on half of each batch
    coarse: bool = False          # a quarter of each batch redrawn from a coarse grid
    teacher_weight: float = 0.0   # with a teacher: the share of the loss that is its softened answers
    teacher_temperature: float = 2.0  # ...softened by this temperature
    seed: int = 1
    train_limit: int | None = None
    threads: int | None = None    # default: every core of the machine
    device: str = "cpu"           # where the network trains: "cpu", or an accelerator such as "cuda"

    def __post_init__(self):
        """Every field checked, so a bad option fails here with its name, not deep inside training."""
        check_architecture(self.architecture)
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {self.variant!r}")
        for name in ("epochs", "batch_size", "seed", "train_limit", "threads"):
            value = getattr(self, name)
            if value is None and name in ("train_limit", "threads"):
                continue
            if not is_integer(value):
                raise ValueError(f"{name} must be an integer, not {value!r}")
            if value < (0 if name == "seed" else 1):
                raise ValueError(f"{name} must be at least {0 if name == 'seed' else 1}, not {value}")
        if self.seed > MAX_SEED:
            raise ValueError(f"seed must be at most {MAX_SEED}, not {self.seed}")
        for name in ("lr", "momentum", "l1", "l2", "dropout", "rotation", "teacher_weight", "teacher_temperature"):
            value = getattr(self, name)
            if not is_finite_number(value):
                raise ValueError(f"{name} must be a finite number, not {value!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, not {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), not {self.momentum}")
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError("l1 and l2 must be non-negative")
        if not 0 <= self.rotation <= 90:
            raise ValueError(f"rotation must be between 0 and 90 degrees, not {self.rotation}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")
        if not 0 <= self.teacher_weight <= 1:
            raise ValueError(f"teacher_weight must be between 0 and 1, not {self.teacher_weight}")
        if self.teacher_temperature <= 0:
            raise ValueError(f"teacher_temperature must be positive, not {self.teacher_temperature}")
        device_named(self.device)
        for name in ("augment", "elastic", "stroke_width", "coarse"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")

    @property
    def weight_decay(self) -> float:
        return self.l2 if self.variant in ("l2", "l1_l2") else 0.0

    @property
    def l1_coefficient(self) -> float:
        return self.l1 if self.variant in ("l1", "l1_l2") else 0.0


@dataclass
class TrainResult:
    model: torch.nn.Module
    metadata: dict


def conv_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    """The convolution kernels: what an L1 penalty acts on."""
    return [module.weight for module in model.modules() if isinstance(module, torch.nn.Conv2d)]


def train(config: TrainConfig, train_split: Split, test_split: Split, *,
          sample_weights: np.ndarray | None = None, initial_state: dict | None = None,
          teacher: torch.nn.Module | None = None, progress: bool = True, log=print) -> TrainResult:
    """Train a model of config.architecture (an ensemble's networks together, on their mean logits);
    sample_weights (one per training image) let some images count more.

    With a teacher (a trained model of as many outputs, often an ensemble), config.teacher_weight of
    the loss is the teacher's answers to the same warped batch, softened by
    config.teacher_temperature (knowledge distillation): one network learns what several read together.
    """
    if (teacher is None) != (config.teacher_weight == 0):
        raise ValueError("a teacher and a positive teacher_weight go together")
    device = available_device(config.device)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    generator = torch.Generator().manual_seed(config.seed)

    train_split = train_split.head(config.train_limit)
    images = model_input(train_split.images).to(device)
    labels = torch.from_numpy(train_split.labels).to(device)
    weights = (torch.ones(len(labels)) if sample_weights is None else torch.as_tensor(
        sample_weights[:len(labels)], dtype=torch.float32)).to(device)

    classes = ARCHITECTURES[config.architecture].classes
    if len(labels) and int(labels.max()) >= classes:
        raise ValueError(f"{config.architecture} has {classes} outputs; labels go up to {int(labels.max())}")
    model = network(config.architecture, dropout=config.dropout)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    model.to(device)
    if teacher is not None:
        teacher = reading_teacher(teacher, config.architecture, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=True, weight_decay=config.weight_decay)
    steps_per_epoch = (len(labels) + config.batch_size - 1) // config.batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch)
    kernels = conv_weights(model)

    history = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(labels), generator=generator).to(device)
        # Summed where the batches are: reading a number back each step would make an accelerator wait.
        seen = 0
        correct = torch.zeros((), dtype=torch.int64, device=device)
        loss_sum = torch.zeros((), device=device)
        batches = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}",
                       disable=not progress, leave=False, unit="batch")
        for step in batches:
            index = order[step * config.batch_size:(step + 1) * config.batch_size]
            batch = warped(images[index], config, generator)
            logits = model(batch)
            per_image = F.cross_entropy(logits, labels[index], reduction="none")
            if teacher is not None:
                taught = distillation_loss(logits, teacher, batch, config.teacher_temperature)
                per_image = (1 - config.teacher_weight) * per_image + config.teacher_weight * taught
            loss = (per_image * weights[index]).sum() / weights[index].sum()
            if config.l1_coefficient:
                loss = loss + config.l1_coefficient * sum(w.abs().sum() for w in kernels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()

            seen += len(index)
            correct += (logits.argmax(1) == labels[index]).sum()
            loss_sum += loss.detach() * len(index)
            # The last batch too: an epoch shorter than PROGRESS_EVERY showed its first batch's figures to the end.
            if progress and (step % PROGRESS_EVERY == 0 or step == steps_per_epoch - 1):
                batches.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.4f}")

        test_loss, test_accuracy = evaluate_split(model, test_split)
        train_loss, train_accuracy = loss_sum.item() / seen, correct.item() / seen
        history.append({"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                        "test_loss": test_loss, "test_accuracy": test_accuracy,
                        "seconds": time.perf_counter() - started})
        # Before calibration, the likeliest output: "not a digit" wins some digits that the calibrated
        # threshold answers, so the accuracy the site answers with, printed at the end, is higher.
        log(f"epoch {epoch:2d}/{config.epochs}: train loss {train_loss:.4f} acc {train_accuracy:.4f} | "
            f"test loss {test_loss:.4f} acc {test_accuracy:.4f}, likeliest output uncalibrated "
            f"({time.perf_counter() - started:.0f} s)")

    model.to("cpu").eval()
    return TrainResult(model, model_card(
        model, test_split, history[-1]["test_loss"], history[-1]["test_accuracy"], history,
        architecture=config.architecture, variant=config.variant, hyperparameters=asdict(config),
        epochs=config.epochs, seed=config.seed, train_images=len(labels),
        training_seconds=round(time.perf_counter() - started, 1), threads=torch.get_num_threads(),
        device=device_name(device)))


def model_card(model: torch.nn.Module, test_split: Split, test_loss: float, test_accuracy: float, history: list,
               **fields) -> dict:
    """A checkpoint's card: what every card records (the model's size, its test figures as `evaluate_split`
    gives them, the data and torch it was made with, when, and its per-epoch `history`), and `fields`."""
    return {**fields, "params": count_parameters(model), "test_images": len(test_split.labels),
            "test_accuracy": test_accuracy, "test_loss": test_loss, "data_checksums": checksums(),
            "torch_version": str(torch.__version__),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "history": history}


def warped(batch: torch.Tensor, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """The batch as this step trains on it: each augmentation the config asks for, in a fixed order
    (the generator's draws, and so a seed's model, depend on it)."""
    if config.stroke_width:
        batch = stroke_width(batch, generator)
    if config.augment:
        batch = random_affine(batch, generator, AffineRanges(rotation_degrees=config.rotation))
    if config.elastic:
        half = len(batch) // 2
        batch = torch.cat([elastic(batch[:half], generator), batch[half:]])
    if config.coarse:
        batch = coarse(batch, generator)
    return batch


def reading_teacher(teacher: torch.nn.Module, architecture: str, device: torch.device) -> torch.nn.Module:
    """The teacher as it reads every batch (an ensemble folded into one module), on `device`; a
    ValueError where its outputs are not as many as the architecture's."""
    teacher = folded(teacher).to(device)
    with torch.no_grad():
        outputs = teacher(torch.zeros(1, 1, 28, 28, device=device)).shape[1]
    classes = ARCHITECTURES[architecture].classes
    if outputs != classes:
        raise ValueError(f"the teacher has {outputs} outputs and {architecture} {classes}")
    return teacher


def device_named(name: str) -> torch.device:
    """The device called `name`, on this machine or not; a ValueError where nothing can be called so."""
    try:
        if isinstance(name, str):
            return torch.device(name)
    except RuntimeError:
        pass
    raise ValueError(f"device must be a name such as cpu or cuda, not {name!r}")


def available_device(name: str) -> torch.device:
    """The device called `name`, or a ValueError that says why this machine cannot train on it."""
    device = device_named(name)
    if device.type == "cpu":
        return device
    backend = getattr(torch, device.type, None)
    if backend is None or not hasattr(backend, "is_available") or not backend.is_available():
        raise ValueError(f"this machine has no {device.type} device to train on (torch {torch.__version__}); "
                         f"train on the cpu")
    if device.index is not None and device.index >= backend.device_count():
        raise ValueError(f"{name}: this machine has {backend.device_count()} {device.type} device(s)")
    return device


def device_name(device: torch.device) -> str:
    """The device as the model card records it: the accelerator's own name where it has one."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return str(device)


def distillation_loss(logits: torch.Tensor, teacher: torch.nn.Module, batch: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """Per image, how far the student's softened answers are from the teacher's (KL divergence),
    scaled by the temperature squared so that its gradients keep the size of the labels' loss."""
    with torch.no_grad():
        target = F.log_softmax(teacher(batch) / temperature, dim=1)
    student = F.log_softmax(logits / temperature, dim=1)
    return F.kl_div(student, target, reduction="none", log_target=True).sum(dim=1) * temperature ** 2
