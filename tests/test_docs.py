"""The documentation's links: every relative link and image in README.md and docs/*.md names an existing
file, every `#anchor` a heading of the page it points into (GitHub's slugs), README.md stays a front
door, and docs/adding_a_family.md shows tests/example_family.py as it is. Plain Python, no TensorFlow."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 260

FENCE = re.compile(r"^ *(```|~~~).*?^ *\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The page without code blocks and inline code, whose brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, punctuation dropped except '-' and '_',
    spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for _, text in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(page: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(page.read_text()))
            if not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target)]  # http:, https:, mailto:


def test_the_pages_exist():
    assert (ROOT / "README.md").is_file() and len(PAGES) > 1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no file {destination}")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading '#{anchor}' in {destination.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}:\n  " + "\n  ".join(broken)


def test_the_slugs_follow_github():
    assert slug("Quick start") == "quick-start"
    assert slug("CycleIAE and CycleGAN: unpaired, multimodal translation") == \
        "cycleiae-and-cyclegan-unpaired-multimodal-translation"
    assert slug("FIAE Figs. 11-12: true vs variational posteriors") == "fiae-figs-11-12-true-vs-variational-posteriors"
    assert slug("IAE: the reconstruction GAN's two changes") == "iae-the-reconstruction-gans-two-changes"
    assert slug("`zoo_ae` and [a link](x.md)") == "zoo_ae-and-a-link"


def test_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move details into docs/"


def test_adding_a_family_shows_the_example_family_as_it_is():
    page = (ROOT / "docs" / "adding_a_family.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```$", page, re.M | re.S)
    shown = [line for block in blocks for line in block.splitlines() if line.strip()]
    source = [line for line in (ROOT / "tests" / "example_family.py").read_text().splitlines() if line.strip()]
    assert shown == source, "docs/adding_a_family.md's python blocks differ from tests/example_family.py"
