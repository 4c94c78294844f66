"""Local stand-ins for Okta and SSM, on 127.0.0.1 only: used by the demo, the tests and the benchmarks.

Nothing here is imported by the Lambda handler.
"""
