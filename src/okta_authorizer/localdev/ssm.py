"""SSM Parameter Store on 127.0.0.1 (moto's server), for the demo and the integration tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

#: Region and dummy credentials for talking to the loopback moto server; nothing leaves the host.
LOCAL_AWS_ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    # No profile of the user's may send these calls anywhere but the loopback endpoint.
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@contextmanager
def local_ssm(environ: MutableMapping[str, str]) -> Iterator[str]:
    """Start moto's SSM on 127.0.0.1 and a free port, point `environ` at it, stop it afterwards."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in the demo
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {name: environ.get(name) for name in [*LOCAL_AWS_ENV, "AWS_ENDPOINT_URL_SSM"]}
    environ.update(LOCAL_AWS_ENV)
    environ["AWS_ENDPOINT_URL_SSM"] = endpoint
    try:
        yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        server.stop()


def ssm_client(endpoint: str) -> Any:
    """A boto3 SSM client for the loopback server."""
    import boto3

    return boto3.client(
        "ssm",
        endpoint_url=endpoint,
        region_name=LOCAL_AWS_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=LOCAL_AWS_ENV["AWS_SESSION_TOKEN"],
    )


def put_parameter(endpoint: str, name: str, value: str, *, secure: bool = False) -> None:
    """Create or overwrite one parameter (String, or SecureString with the default key)."""
    ssm_client(endpoint).put_parameter(
        Name=name, Value=value, Type="SecureString" if secure else "String", Overwrite=True
    )
