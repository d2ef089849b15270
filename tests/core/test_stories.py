from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.gazetteer import place_tokens
from monitor.core.clustering import StoryIndex
from monitor.core.fingerprint import fingerprint_of, prepare
from monitor.core.neardup import normalise
from monitor.domain import Item, Score, Severity
from tests.support.newscorpus import find_item, load_items

HERE = Path(__file__).parent
T0 = datetime(2026, 2, 17, 6, 0, tzinfo=UTC)
WIRE = ("Iran temporarily closes the Strait of Hormuz during nuclear talks with the United States",
        "Iran announced the temporary closure of the Strait of Hormuz for live-fire drills on Tuesday, as its "
        "negotiators held another round of indirect talks with the United States in Geneva.")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


# --- normalisation ---


@pytest.mark.parametrize(("text", "expected"), [
    ("Peru’s Congress ousts “interim” President José Jerí!", "peru s congress ousts interim president jose jeri"),
    ("  ВОЗДУШНАЯ   тревога —\u00a0Харьков ", "воздушная тревога харьков"),
    ("drug\u2011running boats", "drug running boats"),
    ("ארה\"ב", "ארה ב"),
])
def test_normalise_folds_case_accents_and_punctuation(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_a_summary_that_repeats_the_title_counts_once() -> None:
    assert prepare("Тайна центра", "Тайна центра") == ("таина центра", "таина центра")  # marks go: й -> и
    assert prepare("Title: the subtitle", "The subtitle") == ("title the subtitle", "title the subtitle")
    assert prepare("Obama on aliens", "No evidence. The post Obama on aliens appeared first on Boston.com.")[1] == \
        "obama on aliens no evidence the post appeared first on boston com"


def test_only_the_lead_of_a_long_summary_counts() -> None:
    _, body = prepare("A title", " ".join(f"w{i}" for i in range(500)))
    assert body.split()[-1] == "w39"


# --- clustering ---


def test_the_same_item_through_twenty_feeds_is_one_story_with_twenty_sources() -> None:
    index = StoryIndex()
    results = [index.add(f"item-{n}", title=WIRE[0], summary=WIRE[1], source=f"feed-{n}", at=minutes(n))
               for n in range(20)]
    assert results[0].is_new_story and results[0].story_id == "item-0"
    assert not any(r.is_new_story for r in results[1:])
    assert {r.story_id for r in results} == {"item-0"}
    assert [r.sources_count for r in results] == list(range(1, 21))
    assert all(r.new_source and r.similarity == 100.0 and r.matched == "item-0" for r in results[1:])
    story = index.story("item-0")
    assert story is not None and len(story.sources) == 20 and story.items == 20
    assert story.first_seen == minutes(0) and story.last_seen == minutes(19)


def test_edited_truncated_and_title_only_copies_join_the_story() -> None:
    index = StoryIndex()
    index.add("ap", title=WIRE[0], summary=WIRE[1], source="ap", at=minutes(0))
    variants = {
        "edited headline": ("Iran briefly closes Strait of Hormuz during nuclear talks with the US", WIRE[1]),
        "truncated lead": (WIRE[0], WIRE[1][:90]),
        "title only": (WIRE[0], ""),
        "kicker added": ("LIVE: " + WIRE[0], WIRE[1] + " More follows."),
    }
    for n, (name, (title, summary)) in enumerate(variants.items()):
        result = index.add(name, title=title, summary=summary, source=f"s{n}", at=minutes(n + 1))
        assert result.story_id == "ap", name
    assert len(index) == 1


def test_different_stories_stay_apart_even_with_a_shared_boilerplate_summary() -> None:
    index = StoryIndex()
    boilerplate = "Previous story. Read more in our app: the best news, every day, with our partners and friends."
    titles = ["Hollywood mourns the star of Grey's Anatomy", "Poll: who leads the bloc against the government?",
              "Singer answers the television host after the row", "Lawmaker says the party will pay at the polls"]
    ids = {index.add(str(n), title=t, summary=boilerplate, source="aggregator", at=minutes(n)).story_id
           for n, t in enumerate(titles)}
    assert len(ids) == 4


def test_items_without_words_never_merge() -> None:
    index = StoryIndex()
    assert index.add("a", title="", summary="", source="f", at=T0).is_new_story
    assert index.add("b", title="…", summary="!", source="f", at=T0).is_new_story
    assert len(index) == 2


def test_expire_forgets_old_texts_and_closes_empty_stories() -> None:
    index = StoryIndex()
    index.add("old", title=WIRE[0], summary=WIRE[1], source="a", at=minutes(0))
    index.add("other", title="Completely unrelated local weather report for Tuesday", summary="", source="b",
              at=minutes(30))
    closed = index.expire(before=minutes(10))
    assert [s.id for s in closed] == ["old"] and index.story("old") is None
    assert "old" not in index and index.story_of("other") == "other"
    late = index.add("late", title=WIRE[0], summary=WIRE[1], source="c", at=minutes(40))
    assert late.is_new_story and late.story_id == "late"


def test_a_story_lives_while_copies_keep_arriving() -> None:
    index = StoryIndex()
    for hour in range(10):
        index.add(f"k{hour}", title=WIRE[0], summary=WIRE[1], source=f"s{hour % 3}", at=minutes(60 * hour))
        assert index.expire(before=minutes(60 * hour - 90)) == []
    story = index.story("k0")  # one text, refreshed by every copy: none of its items has left the window
    assert story is not None and story.items == 10 and story.sources == ("s0", "s1", "s2")
    assert story.first_seen == minutes(0)


def test_scores_keep_the_highest_per_watchlist_and_the_best_title() -> None:
    index = StoryIndex()
    index.add("a", title=WIRE[0], summary=WIRE[1], source="x", at=minutes(0))
    index.add("b", title="BREAKING: " + WIRE[0], summary=WIRE[1], source="y", at=minutes(1))
    index.record_score("a", Score("gulf", 6.0, Severity.WATCH))
    story = index.record_score("b", Score("gulf", 9.0, Severity.WARNING))
    story = index.record_score("a", Score("nato", 2.0, Severity.NONE))
    assert {w: s.value for w, s in story.scores.items()} == {"gulf": 9.0, "nato": 2.0}
    assert story.best_score == 9.0 and story.title.startswith("BREAKING")


def test_restore_rebuilds_assignments_from_storage() -> None:
    first = StoryIndex()
    first.add("1", title=WIRE[0], summary=WIRE[1], source="x", at=minutes(0))
    first.add("2", title=WIRE[0], summary="", source="y", at=minutes(1))
    stored = first.story("1")
    assert stored is not None
    rebuilt = StoryIndex()
    rebuilt.restore(stored)
    rebuilt.add("2", title=WIRE[0], summary="", source="y", at=minutes(1), story_id="1")
    again = rebuilt.add("3", title=WIRE[0], summary=WIRE[1], source="z", at=minutes(2))
    assert again.story_id == "1" and again.sources_count == 3 and not again.is_new_story


def test_adding_a_known_key_changes_nothing() -> None:
    index = StoryIndex()
    first = index.add("k", title=WIRE[0], summary=WIRE[1], source="x", at=T0)
    second = index.add("k", title="Something else entirely, about a different subject", summary="", source="y",
                       at=minutes(5))
    assert second.story_id == first.story_id and not second.is_new_story and second.sources_count == 1


words = st.sampled_from(["iran", "nato", "strike", "talks", "drone", "border", "army", "minister", "said", "warns",
                         "troops", "ceasefire"])
texts = st.lists(words, min_size=0, max_size=14).map(" ".join)


@dataclass(frozen=True)
class _Op:
    title: str
    summary: str
    source: str
    minute: int


ops = st.lists(st.builds(_Op, texts, texts, st.sampled_from("abc"), st.integers(0, 600)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops, st.integers(0, 600))
def test_every_item_belongs_to_exactly_one_live_story(operations: list[_Op], cutoff: int) -> None:
    index = StoryIndex()
    for n, op in enumerate(sorted(operations, key=lambda o: o.minute)):
        result = index.add(str(n), title=op.title, summary=op.summary, source=op.source, at=minutes(op.minute))
        assert index.story_of(str(n)) == result.story_id
    index.expire(before=minutes(cutoff))
    stories = list(index.stories())
    assert sum(s.items for s in stories) == index.items
    for story in stories:
        assert story.items >= 1 and 1 <= len(story.sources) <= 3


@settings(max_examples=60, deadline=None)
@given(texts, texts, st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=10))
def test_the_same_text_never_starts_a_second_story(title: str, summary: str, sources: list[str]) -> None:
    index = StoryIndex()
    index.add("noise", title="unrelated words about football results and weather", summary="", source="z", at=T0)
    ids = {index.add(f"k{n}", title=title, summary=summary, source=s, at=minutes(n)).story_id
           for n, s in enumerate(sources)}
    assert len(ids) == 1 or not normalise(title + " " + summary)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_a_fingerprint_computed_elsewhere_files_items_exactly_as_the_index_would(operations: list[_Op]) -> None:
    """The parse workers fingerprint items for the daemon's index: both ways must cluster alike."""
    here, elsewhere = StoryIndex(), StoryIndex()
    for n, op in enumerate(sorted(operations, key=lambda o: o.minute)):
        at = minutes(op.minute)
        own = here.add(str(n), title=op.title, summary=op.summary, source=op.source, at=at)
        given_ = elsewhere.add(str(n), title=op.title, summary=op.summary, source=op.source, at=at,
                               fingerprint=pickle.loads(pickle.dumps(fingerprint_of(op.title, op.summary))))
        assert own == given_


# --- different events written alike: another place, another number ---

TEMPLATES = ("Russian missile strike hits apartment block in {city}",
             "Drone attack on {city} kills several people, officials say",
             "Explosions heard in {city} as air raid alert sounds",
             "Power outages in {city} after overnight Russian attack on energy grid",
             "Civilians wounded as shelling hits central {city}")
CITIES = ("Kharkiv", "Lviv", "Odesa", "Dnipro", "Zaporizhzhia")


def test_the_same_template_over_five_cities_is_twenty_five_events() -> None:
    index = StoryIndex(place_tokens())
    stories = {index.add(f"{t}/{c}", title=template.format(city=city), summary="", source=f"feed{c}",
                         at=minutes(t * 5 + c)).story_id
               for t, template in enumerate(TEMPLATES) for c, city in enumerate(CITIES)}
    assert len(stories) == 25


def test_copies_of_one_report_still_join_and_numbers_tell_reports_apart() -> None:
    index = StoryIndex(place_tokens())
    first = index.add("a", title="Russian missile strike hits apartment block in Kharkiv, 5 killed", summary="",
                      source="A", at=T0)
    copy = index.add("b", title="Russian missile strike hits apartment block in Kharkiv, 5 killed", summary="",
                     source="B", at=minutes(1))
    edited = index.add("c", title="Russian missile strike hits an apartment block in Kharkiv: 5 killed",
                       summary="", source="C", at=minutes(2))
    other_toll = index.add("d", title="Russian missile strike hits apartment block in Kharkiv, 9 killed",
                           summary="", source="D", at=minutes(3))
    assert copy.story_id == edited.story_id == first.story_id
    assert other_toll.story_id != first.story_id
    # Cyrillic places inflect: "в Харькове" and "во Львове" are two cities, "Харькове"/"Харьков" one
    ru = index.add("e", title="Ракетный удар по жилому дому в Харькове", summary="", source="E", at=minutes(4))
    ru_other = index.add("f", title="Ракетный удар по жилому дому во Львове", summary="", source="F",
                         at=minutes(5))
    assert ru.story_id != ru_other.story_id


# --- real data: hand-labelled pairs from the shared corpus ---


def _pairs() -> list[dict[str, object]]:
    data = yaml.safe_load((HERE / "story_pairs.yaml").read_text(encoding="utf-8"))
    pairs: list[dict[str, object]] = data["pairs"]
    return pairs


def _item(corpus: Path, side: object) -> Item:
    assert isinstance(side, dict)
    return find_item(corpus, side["file"], side["title"])


def _report(name: str, outcomes: list[tuple[str, bool]]) -> tuple[float, float]:
    tp = sum(1 for label, merged in outcomes if label == "same" and merged)
    fp = sum(1 for label, merged in outcomes if label == "different" and merged)
    fn = sum(1 for label, merged in outcomes if label == "same" and not merged)
    events = [merged for label, merged in outcomes if label == "same_event"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    print(f"\n{name}: precision {precision:.2f} recall {recall:.2f} (same {tp}/{tp + fn}, different merged "
          f"{fp}/{sum(1 for label, _ in outcomes if label == 'different')}); same event written separately: "
          f"{sum(events)}/{len(events)} merged (not gated: near-duplicate detection does not aim at these)")
    return precision, recall


def test_labelled_pairs_are_at_least_thirty_and_balanced() -> None:
    labels = [p["label"] for p in _pairs()]
    assert labels.count("same") >= 15 and labels.count("different") >= 15 and len(labels) >= 30
    assert set(labels) <= {"same", "different", "same_event"}


@pytest.mark.corpus
def test_near_duplicate_pairs_precision_and_recall(corpus: Path) -> None:
    """Each pair alone: the second item is added one minute after the first, whatever their real dates."""
    outcomes = []
    for pair in _pairs():
        a, b = _item(corpus, pair["a"]), _item(corpus, pair["b"])
        index = StoryIndex(place_tokens())
        index.add("a", title=a.title, summary=a.summary, source="A", at=T0)
        merged = not index.add("b", title=b.title, summary=b.summary, source="B", at=minutes(1)).is_new_story
        outcomes.append((str(pair["label"]), merged))
    precision, recall = _report("pairs alone", outcomes)
    assert precision >= 0.9 and recall >= 0.8


@pytest.mark.corpus
def test_near_duplicate_pairs_within_the_whole_news_corpus(corpus: Path) -> None:
    """Every news item of the corpus (7,000+) through one index in date order with a 3-day window."""
    files = sorted(p for p in (corpus / "news").rglob("*") if p.is_file() and p.name != "MANIFEST.md")
    files += sorted((corpus / "news-other" / "spz-xmls-content-feed").glob("*.xml"))
    entries = sorted(((item.published, str(path), n, item) for path in files
                      for n, item in enumerate(load_items(path))), key=lambda e: e[:3])
    index = StoryIndex(place_tokens())
    story_of: dict[tuple[str, str], str] = {}
    for published, path, n, item in entries:
        index.expire(before=published - timedelta(days=3))
        result = index.add(f"{path}#{n}", title=item.title, summary=item.summary, source=path, at=published)
        story_of.setdefault((path.removeprefix(str(corpus) + "/"), item.title), result.story_id)
    outcomes = [(str(p["label"]), story_of[_key(p["a"])] == story_of[_key(p["b"])]) for p in _pairs()]
    precision, recall = _report(f"{len(entries)} corpus items", outcomes)
    assert precision >= 0.9 and recall >= 0.8


def _key(side: object) -> tuple[str, str]:
    assert isinstance(side, dict)
    return str(side["file"]), str(side["title"])


_WORDS = st.sampled_from(["nato", "warns", "of", "war", "troops", "border", "Kyiv", "missile", "talks", "ceasefire",
                          "Москва", "l'OTAN", "", "the", "a"])
_TEXT = st.lists(_WORDS, max_size=14).map(" ".join)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT), max_size=12))
def test_a_documents_fingerprints_at_once_equal_each_items_own(texts: list[tuple[str, str]]) -> None:
    """The parse workers fingerprint a document's items in one pass; the index computes an item's keys alone when
    it has no fingerprint (a restart's rebuild). Both must give the same keys, or where an item was fingerprinted
    would decide its story. Titles long and short (the title keys need MIN_TITLE_WORDS), texts with no words."""
    from monitor.core.fingerprint import fingerprints_of, signatures_of

    for (title, summary), print_ in zip(texts, fingerprints_of(texts), strict=True):
        title_norm, body = prepare(title, summary)
        assert (print_.title_norm, print_.body) == (title_norm, body)
        if not body:
            assert print_.keys is None
            continue
        assert print_.keys is not None
        (title_keys, body_keys), (alone_title, alone_body) = print_.keys, signatures_of(title_norm, body)
        assert body_keys.tolist() == alone_body.tolist()
        assert (title_keys is None and alone_title is None) or (
            title_keys is not None and alone_title is not None and title_keys.tolist() == alone_title.tolist())
