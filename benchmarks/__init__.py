"""The performance harness: measures the authorizer against the bare RS256 check and its peers."""
