#!/usr/bin/env bash
# A picture-book series in one consistent style: a preset for the look, one approved "golden"
# image as the style reference for every later page, a cost ceiling per page, then a contact
# sheet and the bill.
#
#   bash examples/series.sh            # writes into ./storybook/
#   OUT=./other bash examples/series.sh
#
# Needs OPENROUTER_API_KEY_IMAGES (or OPENROUTER_API_KEY). Each page costs about $0.13.
set -euo pipefail

IMAGE_GEN="${IMAGE_GEN:-$(cd "$(dirname "$0")/.." && pwd)}"
OUT="${OUT:-./storybook}"
PRESET="watercolor-storybook"
REQUEST="storybook-$(date +%Y%m%d)"

# Read one field from the JSON document a script printed.
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# 1. Is everything in place? (exit 1 and copy-paste fixups if not)
python3 "$IMAGE_GEN/scripts/preflight_check.py" --output-dir "$OUT"

# 2. The golden image: the first page, made with the preset alone. Look at it before going on;
#    regenerate (or tune the preset) until it is the look you want for the whole book.
golden=$(python3 "$IMAGE_GEN/scripts/generate.py" --preset "$PRESET" \
    --prompt "A small fox in a red scarf finds a lantern at the edge of a birch wood, evening" \
    --output-file "$OUT/page-01.png" --overwrite --max-cost 0.20 --request-id "$REQUEST" | field path)
echo "golden image: $golden" >&2

# 3. Every later page: same preset, the golden image as style reference, the same characters
#    described in the same words, and a ceiling so a wrong flag cannot run up the bill.
page=2
for scene in \
    "The small fox in a red scarf carries the lantern across a frozen stream, a heron watching" \
    "The small fox in a red scarf shares the lantern's light with a family of hedgehogs" \
    "The small fox in a red scarf asleep by the lantern under a huge starry sky"
do
    python3 "$IMAGE_GEN/scripts/generate.py" --preset "$PRESET" --style-ref "$golden" \
        --prompt "$scene" --output-file "$(printf '%s/page-%02d.png' "$OUT" "$page")" --overwrite \
        --max-cost 0.20 --request-id "$REQUEST" --quiet | field path
    page=$((page + 1))
done

# 4. A contact sheet to review the series side by side, and what it cost.
python3 "$IMAGE_GEN/scripts/gallery.py" --dir "$OUT" --title "Storybook draft" | field path
python3 "$IMAGE_GEN/scripts/spend.py" --request-id "$REQUEST" --table
