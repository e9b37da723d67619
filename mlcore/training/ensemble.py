"""Networks trained apart, read together: an ensemble checkpoint made of member checkpoints.

Two runs of one recipe from different seeds read digits about equally well but err on different
drawings, and where to draw the not-a-digit line moves between them (`docs/model.md`, "The same
recipe with another seed"). The mean of their logits is calibrated anew on the held-out sets, as
a trained model is: nothing is carried over from the members' own calibrations.
"""

from __future__ import annotations

from torch import nn

from ..evaluate import evaluate_split
from ..mnist import Split
from ..model import ARCHITECTURES, ensemble_architecture, network
from .recipe import HeldOut, add_calibration
from .train import TrainResult, model_card

# What each member's card keeps of how it was made; its training history and reports stay in its own card.
MEMBER_CARD = ("architecture", "seed", "epochs", "hyperparameters", "training_set", "training_commands",
               "training_seconds", "fine_tuned_from", "test_accuracy", "answered_test_accuracy", "calibration")


def architecture_of(members: list[dict]) -> str:
    """The architecture of an ensemble of the members (each a checkpoint's metadata), read before any work is
    done with them; ValueError where they cannot be one: fewer than two, of different architectures, themselves
    ensembles, or with no ensemble of their widths (ten-output networks have none)."""
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least two members, not {len(members)}")
    member_architectures = sorted({metadata["architecture"] for metadata in members})
    if len(member_architectures) != 1:
        raise ValueError(f"the members must share one architecture, not {', '.join(member_architectures)}")
    member = member_architectures[0]
    if ARCHITECTURES[member].members != 1:
        raise ValueError(f"{member} is itself an ensemble; give its member checkpoints")
    return ensemble_architecture(member, len(members))


def assemble(members: list[tuple[nn.Module, dict, dict]], held_out: HeldOut, test_split: Split) -> TrainResult:
    """An ensemble of the members (each a loaded model, its metadata, and where it came from: path and
    sha256), calibrated on `held_out` and measured on `test_split`. ValueError where they cannot be one."""
    model = network(architecture_of([metadata for _, metadata, _ in members]))
    for slot, (weights, _, _) in zip(model.members, members):
        slot.load_state_dict(weights.state_dict())
    model.eval()

    test_loss, test_accuracy = evaluate_split(model, test_split)
    variants = sorted({metadata["variant"] for _, metadata, _ in members})
    result = TrainResult(model, model_card(
        model, test_split, test_loss, test_accuracy, [],
        architecture=model.architecture,
        variant=variants[0] if len(variants) == 1 else "+".join(variants),
        hyperparameters={"members": len(members)},
        epochs=0,
        seed=[metadata["seed"] for _, metadata, _ in members],
        training_seconds=round(sum(metadata["training_seconds"] for _, metadata, _ in members), 1),
        members=[{**source, **{key: metadata[key] for key in MEMBER_CARD if key in metadata}}
                 for _, metadata, source in members],
        # What the ensemble was trained on is what any member was: `evaluate` leaves those fonts out.
        training_set={"fonts": sorted({font for _, metadata, _ in members
                                       for font in metadata.get("training_set", {}).get("fonts", [])})},
    ))
    add_calibration(result, held_out, test_split)
    return result
