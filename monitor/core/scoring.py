"""Watchlist scoring: a document -> one explained Score per applicable watchlist.

A score is the sum of its contributions, each with its kind, the matched text, its span in Document.text
and its value (docs/scoring.md has the worked rules; the code is in explain.py):

  actor          a watched actor is mentioned (once per actor): actor weight x position factor
  keyword        an escalation term: weight x position factor (title 1.5, body 1)
  deescalation   a negative-weight term ("ceasefire", "talks"), the same way
  repetition     further occurrences of the same term: x0.5, x0.25, x0.125, then no more
  neutral        a zero-weight term ("war film", "trade war"): worth nothing, but it hides the shorter terms
                 inside it ("war"), as any longer match hides the ones it overlaps
  negation/hedge a cue damps a term in its scope: the term keeps 0.2 (negated) or 0.5 (hedged) of its value;
                 several cues multiply, each shown with its own share
  proximity      an escalation term within Watchlist.proximity_window words of an actor: +50% of its
                 (damped) value
  cooccurrence   two or more distinct actors, in an item with escalation terms: +0.5 per actor beyond the
                 first, at most +1.5
  no_actor       the watchlist requires an actor and none was found: the score is 0, and this contribution,
                 the only one, names the escalation terms found without weighing them

In the body (not the title), the escalation terms saturate: ranked by value, they count x1, x0.9, x0.81 ...
(shown in the keyword's detail), so a long article does not outscore a sharp headline by length alone.

Each contribution says which part of the item it was found in (`part`): the headline, the summary, or the
article's main text, which candidates are scored on again once it is read (issue 18); the article is body text.

Everything here is a pure function of the watchlists, the document, its tags and language.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES

from monitor.core.acts import ActModel, consulted, floor, model_text, with_model
from monitor.core.cues import CUES, Cue
from monitor.core.explain import ItemContext, Prepared, explain
from monitor.core.matching import CUE_OWNER, Hit, Matcher
from monitor.core.normalize import WordView, fold
from monitor.domain import Document, Score, Watchlist


class Scorer:
    """Compiles every watchlist into one matcher; `score` is then cheap and deterministic per item."""

    def __init__(self, watchlists: Sequence[Watchlist], cues: Sequence[Cue] = CUES,
                 model: ActModel | None = None) -> None:
        self.watchlists = tuple(watchlists)
        self.model = model  # the learned second opinion (core.acts), asked only where it can matter
        self._model_floor = tuple(floor(wl) for wl in self.watchlists)
        self._cues = tuple(cues)
        self._openers = tuple(cue for cue in self._cues if cue.initial)  # of a feature, after a topic tag
        self._matcher = Matcher(self.watchlists, self._cues)
        self._prepared = tuple(Prepared.of(wl) for wl in self.watchlists)
        # Most items match nothing of most watchlists: their (immutable) empty score is made once.
        self._empty = tuple(Score(wl.name, 0.0, wl.severity_for(0.0)) for wl in self.watchlists)
        self._scoped = any(wl.tags or wl.languages for wl in self.watchlists)
        self._cue_usable: dict[str | None, tuple[int, ...]] = {}

    def _usable_cues(self, language: str | None) -> tuple[int, ...]:
        """Per cue, for items in `language`: 0 not applicable, 1 only as the headline's first word (Cue.initial),
        2 anywhere. Made once per language and kept: it is looked up for every cue matched."""
        usable = tuple(0 if not _language_ok(cue.languages, language) else 1 if cue.initial else 2
                       for cue in self._cues)
        if len(self._cue_usable) < 1_000:  # language codes come from feeds: bounded all the same
            self._cue_usable[language] = usable
        return usable

    def score(self, doc: Document, *, tags: Sequence[str] = (), language: str | None = None) -> list[Score]:
        lang = _base_language(language)
        owners: Sequence[int] = range(len(self.watchlists))
        if self._scoped:
            owners = [i for i in owners if _applies(self.watchlists[i], tags, lang)]
        if not owners:
            return []
        text = doc.text
        folded = fold(text)
        by_owner: dict[int, list[Hit]] = {}
        for hit in self._matcher.find(folded, WordView(folded.text), owners, lang):
            by_owner.setdefault(hit.owner, []).append(hit)
        if len(by_owner) <= (CUE_OWNER in by_owner):
            return [self._empty[o] for o in owners]
        usable = self._cue_usable.get(lang) or self._usable_cues(lang)
        cue_hits = tuple(h for h in by_owner.get(CUE_OWNER, ())
                         if usable[h.ref] and (h.first == 0 or usable[h.ref] > 1))
        article_start = len(text) - len(doc.article) if doc.article else len(text) + 1
        item = ItemContext(text, len(doc.title), article_start, folded, lang, cue_hits, self._cues, self._openers)
        scores = [explain(self._prepared[o], item, by_owner[o]) if o in by_owner else self._empty[o] for o in owners]
        return self._second_opinion(doc, scores, owners) if self.model is not None else scores

    def _second_opinion(self, doc: Document, scores: list[Score], owners: Sequence[int]) -> list[Score]:
        """The model's contribution on every score it can matter to; the model reads the item once, if at all."""
        asked = [i for i, o in enumerate(owners) if consulted(scores[i], self._model_floor[o])]
        if not asked or self.model is None:
            return scores
        p = self.model.probability(model_text(doc))
        for i in asked:
            scores[i] = with_model(scores[i], self.watchlists[owners[i]], p)
        return scores


def compiled() -> bool:
    """Whether this build runs the scoring path compiled with mypyc (setup.py, MONITOR_MYPYC=1): logged at start,
    so an operator can tell which build is running, and checked by the compiled leg of `.ci/run`."""
    return __file__.endswith(tuple(EXTENSION_SUFFIXES))


def _base_language(language: str | None) -> str | None:
    return language.replace("_", "-").split("-")[0].lower() if language else None


def _language_ok(languages: tuple[str, ...], language: str | None) -> bool:
    """Language-tagged terms and cues apply to items in that language, or of unknown language."""
    return not languages or language is None or language in languages


def _applies(wl: Watchlist, tags: Sequence[str], language: str | None) -> bool:
    """Watchlist.tags: only items from feeds with one of them; Watchlist.languages: only items in one of
    them (items of unknown language are scored)."""
    if wl.tags and not set(wl.tags) & set(tags):
        return False
    return not (wl.languages and language and language not in wl.languages)
