"""The configuration directory: one module per file kind, one loader (monitor.config.loader.load_config)."""

from monitor.config.channels import ChannelConfig
from monitor.config.feeds import FeedConfig, FeedsFile
from monitor.config.loader import Config, load_config
from monitor.config.settings import HttpSettings, MonitorSettings, parse_duration
from monitor.config.watchlists import WatchlistModel, build_watchlist, load_lexicons, load_watchlist_file

__all__ = ["ChannelConfig", "Config", "FeedConfig", "FeedsFile", "HttpSettings", "MonitorSettings", "WatchlistModel",
           "build_watchlist", "load_config", "load_lexicons", "load_watchlist_file", "parse_duration"]
