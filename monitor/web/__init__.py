"""The read-only page at / and the queries behind it and the JSON API (served by monitor.runtime.http)."""
