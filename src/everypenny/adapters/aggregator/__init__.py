"""The carrier-billing SMS aggregator: its wire format, our HTTP client for its API, and callback checks."""
