"""Load the site templates shipped as package data (`parsers/templates/*.yaml`).

This is the one place in `parsers/` that reads files: the YAML is code data that ships inside
the package (read with importlib.resources, cached once per process), not pipeline I/O.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from parsers.site_templates import SiteTemplate, template_from_dict

__all__ = ["load_templates"]


@lru_cache(maxsize=1)
def load_templates() -> tuple[SiteTemplate, ...]:
    """Every template version of every `templates/*.yaml` file, in file-name order. A file
    holds one mapping or a list of mappings (versions of one site or CMS)."""
    out: list[SiteTemplate] = []
    folder = resources.files("parsers") / "templates"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        for item in data if isinstance(data, list) else [data]:
            out.append(template_from_dict(item, source=entry.name))
    return tuple(out)
