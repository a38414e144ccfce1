#!/usr/bin/env bash
# Generate one image per line of a JSON Lines file, keep going past failures, and collect the
# results: results.jsonl (one generate.py document per line), manifest.json and a gallery page
# (manifest.html). The last line of stdout is a summary that names every file written.
#
#   bash examples/batch/run.sh [prompts.jsonl] [output-dir]
#
# Each line is an object with "prompt" and optionally "name", "model", "preset",
# "aspect_ratio", "size" and "seed". MAX_COST (default 0.25) caps every image.
# Exit 0 when every line produced an image, 1 otherwise.
set -uo pipefail

IMAGE_GEN="${IMAGE_GEN:-$(cd "$(dirname "$0")/../.." && pwd)}"
BATCH="${1:-$(dirname "$0")/prompts.jsonl}"
OUT="${2:-./batch-output}"
MAX_COST="${MAX_COST:-0.25}"
REQUEST="batch-$(basename "$BATCH" .jsonl)"
mkdir -p "$OUT"
: > "$OUT/results.jsonl"

# One JSON line in, generate.py's arguments out, each ended by NUL so any prompt text is safe.
to_args='
import json, sys
try:
    job = json.loads(sys.argv[1])
    args = ["--prompt", job["prompt"]]
    for key in ("model", "preset", "aspect_ratio", "size", "seed"):
        if key in job:
            args += ["--" + key.replace("_", "-"), str(job[key])]
    if "name" in job:
        args += ["--output-file", sys.argv[2] + "/" + job["name"] + ".png", "--overwrite"]
except (ValueError, KeyError, TypeError):
    sys.exit(1)
sys.stdout.write("".join(arg + "\0" for arg in args))
'

ok=0; failed=0; line_no=0
while IFS= read -r line || [ -n "$line" ]; do
    line_no=$((line_no + 1))
    case "$line" in ""|"#"*) continue ;; esac
    args=()
    while IFS= read -r -d '' arg; do args+=("$arg"); done < <(python3 -c "$to_args" "$line" "$OUT")
    if [ "${#args[@]}" -eq 0 ]; then
        echo "line $line_no: not a JSON object with a prompt; skipped" >&2
        failed=$((failed + 1)); continue
    fi
    result=$(python3 "$IMAGE_GEN/scripts/generate.py" "${args[@]}" --output-dir "$OUT" \
        --max-cost "$MAX_COST" --request-id "$REQUEST" --quiet)
    status=$?
    # Keep each result on one line.
    printf '%s\n' "$result" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))' \
        >> "$OUT/results.jsonl"
    if [ "$status" -eq 0 ]; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
    echo "line $line_no: exit $status" >&2
done < "$BATCH"

# The images that were made, as a manifest the gallery reads.
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
with open(out + "/results.jsonl") as handle:
    docs = [json.loads(line) for line in handle if line.strip()]
outputs = [{"path": path} for doc in docs if doc.get("success") for path in doc["all_paths"]]
with open(out + "/manifest.json", "w") as handle:
    json.dump({"outputs": outputs}, handle, indent=2)
PY
gallery=$(python3 "$IMAGE_GEN/scripts/gallery.py" --manifest "$OUT/manifest.json" --title "Batch $(basename "$BATCH")" \
    --overwrite | python3 -c 'import json, sys; print(json.load(sys.stdin).get("path") or "")')

# The summary names every file this script wrote.
python3 - "$OUT" "$ok" "$failed" "$gallery" <<'PY'
import json, sys
out, ok, failed, gallery = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(out + "/results.jsonl") as handle:
    docs = [json.loads(line) for line in handle if line.strip()]
cost = sum(doc.get("cost_usd") or 0 for doc in docs if doc.get("success"))
images = [path for doc in docs if doc.get("success") for path in doc["all_paths"]]
sidecars = [doc["sidecar"] for doc in docs if doc.get("success") and doc.get("sidecar")]
print(json.dumps({"ok": ok, "failed": failed, "cost_usd": round(cost, 6), "images": images, "sidecars": sidecars,
                  "results": out + "/results.jsonl", "manifest": out + "/manifest.json", "gallery": gallery or None}))
PY
[ "$failed" -eq 0 ]
