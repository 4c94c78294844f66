"""`python -m okta_authorizer ...`: the operator commands."""

import sys

from okta_authorizer.cli import main

sys.exit(main())
