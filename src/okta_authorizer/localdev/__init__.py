"""Local stand-ins for Okta and SSM on 127.0.0.1: for the demo, the tests and the benchmarks.

Nothing here is imported by the Lambda handler.
"""
