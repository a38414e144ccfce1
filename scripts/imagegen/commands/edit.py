"""edit.py: change an existing image, by instruction through OpenRouter or by mask through OpenAI."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import flags as cli
from .. import validate
from ..cli import runner
from ..images import masks
from ..pipeline import edit as editing, mask_edit as openai_edit

DESCRIPTION = """Edit an image and print one JSON document on stdout.

modes:
  openrouter  describe the change in words; the model redraws the image (default without a mask)
  openai      repaint only the masked area with OpenAI gpt-image models (default with a mask)

examples:
  edit.py --input-image photo.png --prompt "Change the background to a sunset beach"
  edit.py --mode openrouter --input-image photo.png --prompt "Make it night" --model nanobanana-pro
  edit.py --mode openai --input-image room.png --mask mask.png --prompt "A small bonsai tree"
  edit.py --input-image room.png --mask-rect 60%,40%,30%,40% --prompt "A window with a sea view"
  edit.py --input-image room.png --mask-rect 0,0,100%,40% --mask-invert --prompt "Snowy mountains"
  edit.py --input-image photo.png --prompt "Make it night" --max-cost 0.10 --request-id chat-1234
"""


def build_parser() -> argparse.ArgumentParser:
    parser = runner.new_parser("edit.py", DESCRIPTION)
    parser.add_argument("--mode", choices=("openrouter", "openai"),
                        help="openrouter (instruction edit) or openai (mask inpainting); "
                             "default openai when --mask or --mask-rect is given, else openrouter")
    parser.add_argument("--input-image", action="append", required=True, metavar="PATH",
                        help="image to edit (PNG, JPEG, WebP); repeat to send more images, the first is edited")
    parser.add_argument("--prompt", required=True, help="the edit instruction, or what to paint in the masked area")
    parser.add_argument("--n", "--count", dest="n", type=cli.count, default=1,
                        help="how many variants (1-10; openai and --api images: one call, chat: one call each)")
    cli.add_model_args(parser, fallback_model=editing.DEFAULT_EDIT_MODEL, fallback_ratio="nearest the input image")
    cli.add_style_args(parser)
    cli.add_images_api_args(parser, also_openai=True)
    group = parser.add_argument_group("mask inpainting (--mode openai)")
    group.add_argument("--mask", metavar="PATH",
                       help="PNG with alpha, the image's size, under 4 MB; transparent pixels are repainted")
    group.add_argument("--mask-rect", action="append", type=cli.arg_type(masks.rect_spec), metavar="X,Y,W,H",
                       help="draw the mask: repaint this rectangle, in pixels or percentages (repeatable)")
    group.add_argument("--mask-invert", action="store_true",
                       help="with --mask-rect: keep the rectangles, repaint the rest")
    group.add_argument("--markup", metavar="PATH",
                       help="GPT Image 2.5: a transparent PNG overlay whose marks guide the edit (not with a mask)")
    group.add_argument("--keep-unmasked", action="store_true",
                       help="put the input's own pixels back everywhere the mask keeps, so only the masked area "
                            "changes (PNG input; sent in a frame the model makes, brought back to the input's size)")
    group.add_argument("--openai-model", help=f"OpenAI image model (default {openai_edit.DEFAULT_MODEL})")
    group.add_argument("--openai-size", type=cli.arg_type(validate.openai_size),
                       help="output size: " + ", ".join(openai_edit.SIZES) + "; gpt-image-2 takes any WIDTHxHEIGHT "
                            "with both sides multiples of 16, up to 3840x2160 (default: the model's)")
    group.add_argument("--input-fidelity", choices=openai_edit.FIDELITIES,
                       help="how closely to preserve faces and details of the input (gpt-image-2.5 and later; "
                            "gpt-image-2 takes none)")
    cli.add_output_args(parser)
    cli.add_spending_args(parser)
    cli.add_network_args(parser)
    return parser


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..cli import requests  # not for --help: keep start-up fast
    from ..pipeline import edit

    request = requests.edit_request(args)
    return edit.run_request(request, requests.paid_run(args, "edit.py", request), context.fields)


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
