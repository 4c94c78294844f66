"""Okta JWT access-token authorizer for Amazon API Gateway."""

__version__ = "0.1.0"
