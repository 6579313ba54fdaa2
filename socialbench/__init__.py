"""socialbench: benchmark how brands answer customer-service queries on social media."""

__version__ = "0.1.0"
