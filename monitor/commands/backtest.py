"""`monitor backtest`: replay stored items through the current watchlists, a fresh StoryIndex, the story alert
rules and the trend rules, sending and writing nothing; what would have alerted, per day, and a chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.commands.inspect import _open
from monitor.commands.table import table
from monitor.config import Config
from monitor.store import story_rows
from monitor.usecases.backtest import Backtest, run


def replay(config: Config, since: float, watchlist: str | None = None, now: datetime | None = None) -> Backtest:
    now = now or datetime.now(UTC)
    watchlists = [w for w in config.watchlists if watchlist is None or w.name == watchlist]
    with _open(config) as s:
        items = story_rows.items_between(s, now - timedelta(seconds=since), now)
    return run(items, watchlists, window=config.settings.stories.window)


def report(result: Backtest) -> str:
    days = sorted(result.days.items())
    summary = table(["day", "watchlist", "max score", "story alerts", "trend alerts"],
                    [(d, wl, f"{v.score:.1f}", v.story_alerts, v.trend_alerts) for (d, wl), v in days])
    hits = table(["when", "watchlist", "kind", "severity", "what"],
                 [(h.at.strftime("%Y-%m-%d %H:%M"), h.watchlist, h.kind, h.severity, h.text) for h in result.hits],
                 max_width=100)
    total = len(result.hits)
    return (f"replayed {result.items} items: {total} alert{'' if total == 1 else 's'} would have gone out "
            f"(nothing was sent or written)\n\n{summary}\n\nWould have alerted:\n{hits}")


def chart(result: Backtest, path: Path) -> None:
    """Daily escalation score (lines) and alert counts (bars) per watchlist, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = sorted({d for d, _ in result.days})
    names = sorted({wl for _, wl in result.days})
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    width = 0.8 / max(1, len(names))
    for n, name in enumerate(names):
        rows = [result.days.get((d, name)) for d in days]
        top.plot(range(len(days)), [r.score if r else 0.0 for r in rows], marker="o", label=name)
        bottom.bar([i + n * width for i in range(len(days))],
                   [(r.story_alerts + r.trend_alerts) if r else 0 for r in rows], width=width, label=name)
    top.set_ylabel("max escalation score")
    bottom.set_ylabel("alerts")
    bottom.set_xticks(range(len(days)), days, rotation=30, ha="right")
    top.set_title("Backtest: what the current watchlists would have done")
    if names:
        top.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
