"""``alzza export MODEL.npz OUT.onnx``: a saved model as ONNX graph(s)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..user_code import add_import_option

EPILOG = """\
examples:
  alzza export runs/steel-std/model.npz steel.onnx
  alzza export runs/mnist-autoencoder/model.npz ae.onnx          (also ae.encoder.onnx, ae.decoder.onnx)
  alzza export runs/gan-mnist-8/model.npz gen.onnx --part generator
  alzza export model.npz out.onnx --verify                       (compare with predict in onnxruntime)

A family writes its default graph to OUT and every other part beside it as OUT-stem.<part>.onnx.
"""

#: largest difference from alzza that --verify accepts (float32)
TOLERANCE = 1e-4


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a saved model as ONNX (equal to predict in onnxruntime)",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Write a trained model (model.npz from 'alzza run' or model.save) as an ONNX graph: float32 "
                    "input in alzza's layout (NHWC images, batch-major sequences + lengths), a dynamic batch axis, "
                    "the output of predict. Needs the onnx package (pip install 'alzza[onnx]').")
    p.add_argument("model", metavar="MODEL.npz", help="a model file written by alzza")
    p.add_argument("out", metavar="OUT.onnx", help="where to write the graph")
    p.add_argument("--part", help="only this graph (autoencoder: predict, encoder, decoder; encoder_decoder: "
                                  "predict, encoder, decoder; gan: generator, discriminator)")
    p.add_argument("--class-names", help="class names for the metadata, comma-separated or a JSON list "
                                         "(default: those stored in the model file)")
    p.add_argument("--verify", action="store_true",
                   help=f"run each graph in onnxruntime on random inputs and compare with alzza "
                        f"(fails above {TOLERANCE:g})")
    add_import_option(p)  # the module defining a user layer of the model (and its ONNX form)


def _class_names(text):
    if text is None:
        return None
    text = text.strip()
    if text.startswith("["):
        from ..errors import AlzzaError

        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise AlzzaError(f"--class-names: not a JSON list ({exc})") from None
    return [name.strip() for name in text.split(",")]


def run(args, out=print) -> int:
    from ..export import ExportError, check_output, export_all, part_path, to_onnx
    from ..export.plans import plans_of
    from ..saving.model_files import load_model

    model = load_model(args.model, printer=lambda *_: None)
    names = _class_names(args.class_names)
    plans = plans_of(model)
    targets = [Path(args.out)] if args.part is not None else \
        [Path(args.out) if i == 0 else part_path(args.out, part) for i, part in enumerate(plans)]
    for target in targets:  # before anything is written: never the model file itself, only regular files
        check_output(target, source=args.model)
    if args.part is not None:
        to_onnx(model, args.out, part=args.part, class_names=names)
        written = {args.part: args.out}
    else:
        written = export_all(model, args.out, class_names=names)
    for part, path in written.items():
        plan = plans[part]
        out(f"wrote {path}: {model.name} ({part}) — {plan.reference_text}")
        if args.verify:
            import onnx

            from ..export.verify import compare

            diff, _, _ = compare(model, onnx.load(str(path)), plan)
            out(f"  onnxruntime vs alzza on 8 random inputs: max |difference| = {diff:.2e}")
            if not diff <= TOLERANCE:
                raise ExportError(f"{path}: onnxruntime differs from alzza by {diff:.2e} (> {TOLERANCE:g})")
    return 0
