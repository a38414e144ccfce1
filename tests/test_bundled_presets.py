"""Every preset shipped in presets/ is valid and drives a --dry-run request the way it promises."""

from __future__ import annotations

import json

import pytest

from imagegen.models import registry, table
from imagegen.prompt import presets
from tests.conftest import assert_one_json

BUNDLED = sorted(p.stem for p in presets.builtin_dir().glob("*.json"))


def test_at_least_four_styled_presets_besides_default():
    styled = [name for name in BUNDLED if name != "default"]
    assert "default" in BUNDLED and len(styled) >= 4


@pytest.mark.parametrize("name", BUNDLED)
def test_preset_is_valid_and_complete(name):
    preset = presets.load(str(presets.builtin_dir() / f"{name}.json"))
    assert preset.name == name and preset.warnings == []
    assert preset.description
    if name != "default":
        assert set(preset.defaults) == {"model", "aspect_ratio", "size"}
        assert preset.style.get("color_palette") and preset.style.get("anti_patterns")
        assert preset.system_message
        spec = registry.resolve(preset.defaults["model"])
        assert preset.defaults["aspect_ratio"] in spec.ratios and preset.defaults["size"] in spec.sizes


@pytest.mark.parametrize("name", BUNDLED)
def test_preset_drives_a_dry_run(run, fake, name):
    raw = json.loads((presets.builtin_dir() / f"{name}.json").read_text())
    result = run("generate.py", "--prompt", "A lighthouse keeper feeding a cat", "--preset", name, "--dry-run")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0 and doc["dry_run"] is True and doc["preset"] == name
    assert fake.requests == []
    body = doc["request"]["body"]
    defaults = raw.get("defaults", {})
    assert body["model"] == registry.resolve(defaults.get("model", table.DEFAULT_MODEL)).id
    assert body["image_config"] == {"aspect_ratio": defaults.get("aspect_ratio", "1:1"),
                                    "image_size": defaults.get("size", "2K")}
    assert "no system message" not in result.stderr
    text = body["messages"][-1]["content"]
    style = raw.get("style", {})
    if not style:
        assert text == "A lighthouse keeper feeding a cat"
        return
    spec = registry.resolve(defaults["model"])
    if spec.prompt_format == "flux_json":
        structured = json.loads(text)
        assert structured["scene"] == "A lighthouse keeper feeding a cat"
        assert structured["color_palette"] == style["color_palette"] and structured["avoid"] == style["anti_patterns"]
    else:
        assert body["messages"][0] == {"role": "system", "content": raw["system_message"]}
        assert style["color_palette"][0] in text and text.endswith("Scene: A lighthouse keeper feeding a cat")
    assert doc["cost_estimate_usd"] == registry.estimate_usd(spec, defaults["aspect_ratio"], defaults["size"])
