"""Draw a batch of real items to label for the real-news set (README: "Second held-out batch", "Second tuning
batch").

    .venv/bin/python tests/data/realnews/draw.py OUT.csv [--seed 20261205] [--prefix s]

heldout2.csv was drawn with the defaults when tune.csv and heldout.csv were the only labelled files; tune2.csv
with --seed 20261206 --prefix t, when heldout2.csv was labelled too; tune3.csv with --seed 20261207 --prefix u.

Every item of ../shared/corpus (news/ and news-other/'s RSS-like captures, read as tests.support.newscorpus reads
them) whose title is not already in a labelled file of this folder, one per title; 330 drawn at random
from those a broad multilingual conflict word filter matches (the filter only chooses what is read; it was
written before the draw and is not the scorer's lexicon), at most 150 per language, and 90 at random from the
rest. Output: the columns of heldout.csv without the labels (lang, label, why and topic are the labellers').
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from monitor.feeds.language import item_language  # noqa: E402
from tests.support.newscorpus import load_items  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
HERE = Path(__file__).resolve().parent
CONFLICT, RANDOM, PER_LANGUAGE = 330, 90, 150
FILTER = re.compile("|".join([
    r"\bwar\b", r"\bwars\b", "attack", "missile", "drone", "strike", "troops", "military", r"\barmy\b", r"\bnato\b",
    "killed", r"\bbomb", "shelling", "invasion", "ceasefire", "sanction", "nuclear", "rocket", "militant", "hostage",
    "russia", "ukrain", "israel", r"\bgaza\b", r"\biran\b", "hamas", "hezbollah", "putin", "zelensk",
    "войн", "атак", "ракет", "дрон", "беспилотник", r"\bудар", "обстрел", "войск", "армия", r"\bнато\b", "убит",
    "взрыв", "санкц", "ядерн", r"\bвсу\b", "россия", "украин", "путин", "зеленск",
    "krieg", "angriff", "rakete", "drohne", "soldat", "armee", "bundeswehr", "getötet", "waffe",
    "guerre", "attaque", "armée", r"\botan\b", "frappe", r"\btué",
    "війн", "обстріл", "україн",
    "háború", "támadás", "rakéta", "drón", "hadsereg",
    "מלחמה", "תקיפה", "טיל", "רחפן", "צה\"ל",
]), re.IGNORECASE)


def key(title: str) -> str:
    return " ".join(title.casefold().split())


def sources() -> list[Path]:
    news = [p for p in (CORPUS / "news").rglob("*") if p.is_file()]
    other = [p for p in (CORPUS / "news-other" / "spz-xmls-content-feed").rglob("*") if p.is_file()]
    return sorted(news + other)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--prefix", default="s", help="of the ids, so that batches never share one")
    args = parser.parse_args()
    rows = [r for path in sorted(HERE.glob("*.csv")) for r in csv.DictReader(path.open(encoding="utf-8"))]
    taken = {key(r["title"]) for r in rows if "title" in r}  # (topic.csv and the second labels have no titles)
    pool: dict[str, dict[str, str]] = {}
    for path in sources():
        try:
            items = load_items(path)
        except Exception:  # a capture the service's parser rejects: it is not news the service would read
            continue
        for n, item in enumerate(items):
            k = key(item.title)
            if not item.title.strip() or k in taken or k in pool:
                continue
            pool[k] = {"title": item.title, "summary": item.summary[:400],
                       "source": path.relative_to(CORPUS).as_posix(), "entry": str(n),
                       "guess": item_language(item.title, item.summary, None) or "?"}
    rng = random.Random(args.seed)
    keys = sorted(pool)
    matched = [k for k in keys if FILTER.search(pool[k]["title"] + " " + pool[k]["summary"])]
    rest = [k for k in keys if k not in set(matched)]
    rng.shuffle(matched)
    chosen: list[tuple[str, str]] = []
    per: dict[str, int] = {}
    for k in matched:
        lang = pool[k]["guess"]
        if per.get(lang, 0) < PER_LANGUAGE and len(chosen) < CONFLICT:
            per[lang] = per.get(lang, 0) + 1
            chosen.append((k, "conflict-filter"))
    chosen += [(k, "random") for k in rng.sample(rest, RANDOM)]
    rng.shuffle(chosen)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "summary", "source", "entry", "selected_by"])
        for n, (k, how) in enumerate(chosen):
            row = pool[k]
            writer.writerow([f"{args.prefix}{n:04d}", row["title"], row["summary"], row["source"], row["entry"], how])
    print(f"pool {len(pool)} new titles, {len(matched)} matched the filter; wrote {len(chosen)} to {args.out}; "
          f"languages (guessed) of the filtered draw: {per}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
