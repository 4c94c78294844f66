"""A stand-in for the Lambda context object, for running the handler in-process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the Lambda context."""

    function_name: str = "okta-authorizer-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:okta-authorizer-local"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/okta-authorizer-local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's remaining-time callback; locally there is no deadline."""
        return 3000
