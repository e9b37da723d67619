import json
from pathlib import Path

import torch
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mlcore import checkpoint
from mlcore.data import MnistDataError, load_split
from mlcore.evaluate import evaluate, measure_latency, report_data, write_report
from mlcore.predict import Predictor


class Command(BaseCommand):
    help = ("Evaluate a checkpoint on the 10,000 MNIST test images: accuracy, per-digit precision and recall, "
            "confusion matrix, latency and throughput; write report.json, confusion.png and misclassified.png.")

    def add_arguments(self, parser):
        parser.add_argument("--model", type=Path, default=settings.MNIST_MODEL_PATH, help="checkpoint to evaluate")
        parser.add_argument("--data-dir", type=Path, default=settings.MNIST_DATA_DIR)
        parser.add_argument("--report-dir", type=Path, default=settings.BASE_DIR / "reports" / "evaluation")
        parser.add_argument("--repeats", type=int, default=200, help="single-image timings for the latency figures")
        parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")

    def handle(self, *args, **options):
        if options["repeats"] < 1:
            raise CommandError("--repeats must be at least 1")
        try:
            model, metadata = checkpoint.load(options["model"])
            test_split = load_split(options["data_dir"], "test")
        except (checkpoint.CheckpointError, MnistDataError) as exc:
            raise CommandError(str(exc)) from None

        # Timed at the thread count a serving worker uses, so the latency is the one the site sees.
        torch.set_num_threads(settings.INFERENCE_THREADS)
        evaluation = evaluate(model, test_split)
        latency = measure_latency(Predictor(model, metadata), test_split.images, repeats=options["repeats"])
        try:
            files = write_report(evaluation, latency, test_split, options["report_dir"],
                                 options["model"], metadata["params"])
        except OSError as exc:
            raise CommandError(f"could not write the report to {options['report_dir']}: {exc}") from None

        if options["json"]:
            summary = report_data(evaluation, latency, options["model"], metadata["params"])
            del summary["misclassified_images"]
            summary["report_files"] = {kind: str(path) for kind, path in files.items()}
            self.stdout.write(json.dumps(summary))
            return
        self.write_text_report(evaluation, latency, metadata, options["model"], files)

    def write_text_report(self, evaluation, latency, metadata, model_path, files):
        out = self.stdout.write
        out(f"model {model_path}: {metadata['params']:,} parameters, variant {metadata['variant']}, "
            f"{metadata['epochs']} epochs")
        out(self.style.SUCCESS(
            f"test accuracy {evaluation.accuracy:.4f} ({len(evaluation.labels) - len(evaluation.misclassified):,} "
            f"of {len(evaluation.labels):,}), loss {evaluation.loss:.4f}, {len(evaluation.misclassified)} misclassified"))
        out("")
        out("digit  precision  recall  support")
        for row in evaluation.per_digit():
            out(f"{row['digit']:>5}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  {row['support']:>7,}")
        out("")
        out("confusion matrix (rows: true digit, columns: predicted digit)")
        out("      " + "".join(f"{d:>6}" for d in range(10)))
        for digit, row in enumerate(evaluation.confusion):
            out(f"{digit:>6}" + "".join(f"{count:>6}" for count in row))
        out("")
        out(f"single-image latency: median {latency.median_ms:.2f} ms, p95 {latency.p95_ms:.2f} ms "
            f"({latency.repeats} runs, {latency.threads} thread{'s' if latency.threads != 1 else ''})")
        out(f"batch throughput: {latency.throughput:,.0f} images/s in batches of {latency.batch_size:,}")
        out("")
        for kind, path in files.items():
            out(f"{kind}: {path}")
