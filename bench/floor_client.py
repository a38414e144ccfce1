#!/usr/bin/env python3
"""The least a stdlib text-to-image client must do: one OpenRouter chat call, one file written."""

import argparse
import base64
import json
import os

MODEL = "google/gemini-2.5-flash-image"

parser = argparse.ArgumentParser(description="Generate one image through OpenRouter (bench floor).")
parser.add_argument("--prompt", required=True, help="what to draw")
parser.add_argument("--out", required=True, help="where to write the PNG")
args = parser.parse_args()
import urllib.request  # noqa: E402 - after parsing: --help (or a usage error) loads no network code

body = {"model": MODEL, "messages": [{"role": "user", "content": args.prompt}], "modalities": ["image", "text"]}
request = urllib.request.Request(
    os.environ.get("OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1") + "/chat/completions",
    data=json.dumps(body).encode(),
    headers={"Authorization": "Bearer " + os.environ["OPENROUTER_API_KEY"], "Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=300) as response:
    reply = json.load(response)
url = reply["choices"][0]["message"]["images"][0]["image_url"]["url"]
with open(args.out, "wb") as out:
    out.write(base64.b64decode(url.partition(",")[2]))
